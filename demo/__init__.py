"""Helpers of `scripts/demo`: provisioning, the HTTP state store, screenshots.

Run with the demo virtualenv's Python as `python -m demo.<name>`.
"""
