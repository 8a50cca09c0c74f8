"""data_loader.py: not yet available (issue #6)."""
