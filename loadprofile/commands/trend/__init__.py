"""``loadprofile trend``: a results store across runs, trends and change points over it, and
a gate on them (nightly pipelines: which night did TTFT p99 start to creep up?)."""
