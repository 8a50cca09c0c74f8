"""Validation of the generated datasets."""
