"""Synthetic documents for the demo, the tests and the benchmarks."""
