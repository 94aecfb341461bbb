"""The commands that read run folders and snapshots (gate, compare, snapshot) and the
significance tests they share. They read only the run folder (snapshot also asks a
server).

The layout and who may import whom: docs/architecture.md.
"""
