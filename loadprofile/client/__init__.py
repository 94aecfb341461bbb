"""Talking to inference servers: loadprofile's own HTTP client, the API flavours' request
and stream formats, one measured request, the preflight, server metrics scraping.

The layout and who may import whom: docs/architecture.md.
"""
