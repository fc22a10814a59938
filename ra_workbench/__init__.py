"""RA Workbench: the registration authority's back-office."""

__version__ = "0.1.0"
