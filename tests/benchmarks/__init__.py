"""Benchmarks: run ``python tests/benchmarks/bench.py``; they print numbers and assert nothing."""
