"""Benchmarks: each module prints a table and writes JSON under ``bench/results/``.

Shared measuring helpers live in :mod:`bench.common`; ``python -m bench`` runs every benchmark.
"""
