"""A small HTTP/1.1 client that hands out body bytes the moment they arrive.

Off-the-shelf clients buffer (docs/architecture.md, known traps), which makes token timing
wrong; this one reads the socket directly. It uses the stdlib ``socket``/``ssl`` modules, so
inside a Locust process (gevent-patched) it is cooperative, and elsewhere it is plain
blocking I/O.
"""
