"""Auto-detect: gateways' inventories (the devices found on their bus) added to their sites."""
