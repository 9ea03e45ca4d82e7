"""Harassment of staff by outside collectors (category ``harassment``), keyed by the external phone."""
