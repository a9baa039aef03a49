"""ils-gateway: one patron API over any library system."""

__version__ = "0.1.0"
