"""The worker's end-to-end tests talk to a live Scoop over HTTP (see tests/live_scoop.py)."""

from tests.live_scoop import live_scoop  # noqa: F401  (the fixture)
