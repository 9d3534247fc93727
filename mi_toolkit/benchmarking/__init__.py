"""Benchmarks of mi-toolkit: speed against peers (``mi-toolkit bench speed``)."""
