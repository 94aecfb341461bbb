"""The pure core of a run's figures: results, metrics, the collector and its histograms,
the summary, phases, arrivals and load plans, cost. Never imports Locust, gevent,
matplotlib or the network.

The layout and who may import whom: docs/architecture.md.
"""
