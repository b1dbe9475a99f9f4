"""Benchmarks: scripts that print numbers side by side with a peer. Run all with ``python -m bench``."""
