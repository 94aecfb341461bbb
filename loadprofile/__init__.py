"""loadprofile: load tester and tail-latency profiler for LLM inference endpoints."""

__version__ = "0.1.0"
