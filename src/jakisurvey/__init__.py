"""Reproducible report of the CARRA/PReS survey on JAK inhibitors for JDM."""

__version__ = "0.1.0"
