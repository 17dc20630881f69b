"""SunSpec: model layouts and point codec (pysunspec2's definitions), and device discovery."""
