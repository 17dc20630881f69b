"""The site page's parts: the function bar over every site tab, the power-flow picture and the
site's recent weather on the overview, and savings from the site's own telemetry."""
