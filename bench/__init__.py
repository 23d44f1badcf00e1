"""Ratio benchmarks of mql: `make bench` or `python -m bench --help`."""
