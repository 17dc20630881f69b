"""Device settings: register maps (SunSpec from pysunspec2, vendor maps uploaded per device
model), and reading and writing a device's registers as commands (O&M and administrators)."""
