"""Search engines: one package each, behind one documented contract.

- :mod:`~indexer.search.contract`: what every engine answers (:class:`BaseSearchBackend`);
- :mod:`~indexer.search.semantics`: the rules every engine shares, written down once;
- :mod:`~indexer.search.vectors`: the shared vector maths of similarity search;
- :mod:`~indexer.search.reference`, :mod:`~indexer.search.duckdb`,
  :mod:`~indexer.search.elasticsearch`: the engines, each exporting ``SearchBackend`` and
  the ``OPTIONS`` it takes. Engines never import each other.

``settings.SCOOP_SEARCH_BACKEND`` is ``{"ENGINE": <engine package>, "OPTIONS": {...}}``, like
Django's ``CACHES``: the settings build it with :func:`engine_settings` from
``SCOOP_SEARCH_ENGINE`` and the options the chosen engine declares, and
:func:`get_search_backend` gives the engine it names.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from indexer.search.contract import BaseSearchBackend

# Names SCOOP_SEARCH_ENGINE takes for the engines that come with Scoop.
ENGINES = {
    "duckdb": "indexer.search.duckdb",
    "elasticsearch": "indexer.search.elasticsearch",
    "reference": "indexer.search.reference",
}


def engine_module(name: str) -> ModuleType:
    """The package of the engine ``name``: one of :data:`ENGINES`, or the dotted path of an
    engine package elsewhere (it exports ``SearchBackend`` and ``OPTIONS``)."""
    path = ENGINES.get(name, name)
    if "." not in path:
        raise ImproperlyConfigured(
            f"SCOOP_SEARCH_ENGINE={name!r} is not an engine: use {', '.join(ENGINES)} or the dotted path of "
            "an engine package")
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as error:
        if error.name is None or not (path == error.name or path.startswith(error.name + ".")):
            raise  # the engine exists but lacks one of its own dependencies
        raise ImproperlyConfigured(f"SCOOP_SEARCH_ENGINE={name!r}: there is no module {path}") from error


def engine_settings(name: str, *, env: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """``SCOOP_SEARCH_BACKEND`` for the engine ``name``: its package and the options it declares,
    each read from its environment variable through ``env`` (a ``django-environ`` ``Env``) or
    taken from ``values`` (the settings an option names, such as ``SCOOP_DATA_DIR``)."""
    module = engine_module(name)
    options = {}
    for option in module.OPTIONS:
        if option.setting is not None:
            options[option.name] = values[option.setting]
        else:
            options[option.name] = getattr(env, option.kind)(option.env, default=option.default)
    return {"ENGINE": module.__name__, "OPTIONS": options}


@cache
def search_backend(engine: str, options: tuple[tuple[str, Any], ...]) -> BaseSearchBackend:
    """One instance per process of the engine package ``engine`` built with ``options``."""
    return importlib.import_module(engine).SearchBackend(**dict(options))


def get_search_backend() -> BaseSearchBackend:
    """The configured engine (``settings.SCOOP_SEARCH_BACKEND``), one instance per process and
    configuration."""
    config = settings.SCOOP_SEARCH_BACKEND
    return search_backend(config["ENGINE"], tuple(sorted(config.get("OPTIONS", {}).items())))
