"""Benchmarks, each runnable as ``python -m bench.<name>`` (``--quick`` for a small run)."""
