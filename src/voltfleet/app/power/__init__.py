"""EV power management of a site: setup, the fuse tree, the mode, live allocation (API and
portal), and its wiring to the jobs and the charger link."""
