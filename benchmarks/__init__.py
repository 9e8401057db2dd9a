"""Benchmarks of the integration and the helpers they share.

Run as `python -m benchmarks.<name>` (or `scripts/bench <name>`).
"""
