"""Benchmarks of DESIGN.md's performance budget: ``python -m bench [--quick]``."""
