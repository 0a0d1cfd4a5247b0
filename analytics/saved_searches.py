"""Saved searches: an analyst keeps a search under a name, to open it again or share it
(the API guide, docs/api/saved-searches.md).

A saved search holds what a search request holds (``query`` or ``q``, ``filters``,
``gap_s``, ``tz``, the schema version) and ``view``, the rest of the dashboard's address (count
unit, map, tab, charts, open clip), so that opening it restores the whole screen. The
search is checked against its schema's ontology when saved, exactly as a search request
is, so a saved search always runs. It is private to its owner unless ``shared``; others
see a shared one and may not change it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from analytics.models import SavedSearch
from indexer.models import LabelSchema
from indexer.payloads import PayloadError
from indexer.query.text import to_text
from indexer.selectors import schema_resolve, search_request

# What ``view`` may hold: the dashboard's address parameters besides the search itself
# (static/dashboard/state.js).
VIEW_KEYS = ("unit", "page", "map", "clip", "tab", "charts", "co", "labels")
SEARCH_FIELDS = ("query", "q", "filters", "gap_s", "tz")


class SavedSearchRefused(PayloadError):
    """A change to a saved search that the user may not make (403) or that breaks a rule (400)."""


def saved_search_create(*, owner: AbstractBaseUser, name: str, schema: str | None = None, shared: bool = False,
                        view: str = "", **search: Any) -> SavedSearch:
    """Check the search against the schema (``schema``: a reference as search requests take it;
    none: the default) and keep it for ``owner``."""
    saved = SavedSearch(owner=owner, name=name, shared=shared, view=_checked_view(view))
    _set_search(saved, schema_resolve(ref=schema), {field: search.get(field) for field in SEARCH_FIELDS})
    return _saved(saved)


def saved_search_update(*, saved: SavedSearch, actor: AbstractBaseUser, **changes: Any) -> SavedSearch:
    """Change the fields given in ``changes`` (name, shared, view, schema and the search fields);
    the others keep their values. A new query or schema is checked again; giving ``q`` drops
    ``query`` and the other way round. Only the owner may change a saved search."""
    _owner_check(saved, actor, "change")
    if "name" in changes:
        saved.name = changes["name"]
    if "shared" in changes:
        saved.shared = changes["shared"]
    if "view" in changes:
        saved.view = _checked_view(changes["view"])
    searched = {field: changes[field] for field in SEARCH_FIELDS if field in changes}
    if searched or "schema" in changes:
        search = {"query": saved.query, "q": saved.q, "filters": saved.filters, "gap_s": saved.gap_s, "tz": saved.tz}
        if "q" in searched or "query" in searched:
            search["query"] = search["q"] = None
        search.update(searched)
        schema = schema_resolve(ref=changes["schema"]) if "schema" in changes else saved.schema
        _set_search(saved, schema, search)
    return _saved(saved)


def saved_search_delete(*, saved: SavedSearch, actor: AbstractBaseUser) -> None:
    """Delete a saved search; only its owner may."""
    _owner_check(saved, actor, "delete")
    saved.delete()


def dashboard_address(saved: SavedSearch) -> str:
    """The dashboard's address that shows the saved search: its schema, its query as text, its
    filters, its time zone and its view."""
    params: dict[str, str] = {"schema": str(saved.schema_id)}
    if saved.q:
        params["q"] = saved.q
    elif saved.query is not None:
        params["q"] = to_text(search_request(schema=saved.schema, query=saved.query, tz=saved.tz or None).query)
    if saved.filters:
        params["f"] = json.dumps(saved.filters, separators=(",", ":"))
    if saved.tz:
        params["tz"] = saved.tz
    params.update(parse_qsl(saved.view))
    return "/?" + urlencode(params)


def _set_search(saved: SavedSearch, schema: LabelSchema, search: dict[str, Any]) -> None:
    """Validate the search as a search request is validated (QueryError / FacetError name the
    field) and store it as given."""
    gap_s = 1.0 if search.get("gap_s") is None else search["gap_s"]
    tz = search.get("tz") or ""
    search_request(schema=schema, query=search.get("query"), q=search.get("q"), filters=search.get("filters"),
                   gap_s=gap_s, tz=tz or None)
    saved.schema = schema
    saved.query, saved.q = search.get("query"), search.get("q")
    saved.filters, saved.gap_s, saved.tz = search.get("filters") or {}, gap_s, tz


def _checked_view(view: str) -> str:
    """``view`` as a dashboard address's query string of :data:`VIEW_KEYS` only."""
    if view.startswith("?"):
        view = view[1:]
    for key, _value in parse_qsl(view, keep_blank_values=True):
        if key not in VIEW_KEYS:
            where = " (it is a field of its own)" if key in ("schema", "q", "f", "filters") else ""
            raise PayloadError(f"view holds dashboard parameters {', '.join(VIEW_KEYS)}; '{key}' is not one{where}",
                               path="view")
    return view


def _owner_check(saved: SavedSearch, actor: AbstractBaseUser, action: str) -> None:
    if saved.owner_id != actor.pk:
        raise SavedSearchRefused(f"saved search '{saved.name}' belongs to {saved.owner.get_username()}: only its "
                                 f"owner may {action} it", status=403)


def _saved(saved: SavedSearch) -> SavedSearch:
    """Store it; a name the owner already uses is refused (400 at ``name``)."""
    try:
        with transaction.atomic():
            saved.save()
    except IntegrityError:
        raise PayloadError(f"you already have a saved search named '{saved.name}'", path="name")
    return saved
