"""Embedded OpenAI-compatible mock target with seeded latency profiles.

Runs as its own process (`python -m loadprofile.mock`); it imports nothing of loadprofile
outside this package, and never locust, because asyncio must not share a process with it.
Importing this package is cheap and side-effect free: the server is in `server.py`.
"""

from loadprofile.mock.profiles import BUILTIN_PROFILES, ModelProfile, ProfileError, load_profiles

__all__ = ["BUILTIN_PROFILES", "ModelProfile", "ProfileError", "load_profiles"]
