"""Forecasters behind ``ports.Forecaster`` (``site.SiteForecaster``): PV from pvlib with the
simulator's weather sources (the shipped typical years, or the clear sky), household load from
the site's history or the BDEW standard profile (demandlib). An adapter: above the simulator,
whose weather and load shapes it reuses, below the app."""
