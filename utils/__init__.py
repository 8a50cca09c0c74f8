"""Shared logic for the synthetic marketing data system: one home for every helper used by two scripts."""
