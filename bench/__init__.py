"""Benchmarks for Pixtrio: a load generator, a harness and the benchmarks built on them."""
