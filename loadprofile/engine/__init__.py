"""Running load: the Locust glue and the run session (the only importers of Locust and
gevent), the runner, load shapes, arrival dispatch, distributed runs (``fleet``).

The layout and who may import whom: docs/architecture.md.
"""
