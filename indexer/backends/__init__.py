"""Index engines. ``settings.SCOOP_SEARCH_BACKEND`` names the module (its
``SearchBackend`` class) and its options, like Django's ``CACHES``."""

import importlib
from functools import cache

from django.conf import settings

from indexer.backends.base import BaseSearchBackend


@cache
def _backend(engine: str, options_key: tuple) -> BaseSearchBackend:
    module = importlib.import_module(engine)
    return module.SearchBackend(**dict(options_key))


def get_search_backend() -> BaseSearchBackend:
    """The configured engine, one instance per process and configuration."""
    config = settings.SCOOP_SEARCH_BACKEND
    return _backend(config["ENGINE"], tuple(sorted(config.get("OPTIONS", {}).items())))
