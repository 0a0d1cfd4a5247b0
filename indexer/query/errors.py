"""The one error of the query language, and the helpers that locate and explain it.

A :class:`QueryError` from a JSON tree carries ``path`` (``query.and[1].object.attrs.colour``);
one from the text form carries ``position``, ``line``, ``column`` and a caret ``excerpt``.
Either way ``message`` is a sentence an analyst can act on, naming the unknown label,
attribute or value, and ``suggestions`` lists the nearest known names.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from typing import Any

# Keys that read well after a dot in a path; anything else is written ["as json"].
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_EXCERPT_WIDTH = 80


class QueryError(ValueError):
    """A query that cannot be read, or that does not fit the ontology."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        suggestions: Iterable[str] = (),
        text: str | None = None,
        span: tuple[int, int] | None = None,
    ):
        self.path = path
        self.suggestions = list(suggestions)
        self.position: int | None = None
        self.line: int | None = None
        self.column: int | None = None
        self.excerpt: str | None = None
        self._reason = message
        if text is not None and span is not None:
            self.position = span[0]
            self.line, self.column = line_column(text, span[0])
            self.excerpt = caret_excerpt(text, span)
            message = f"{message} at line {self.line}, column {self.column}"
        self.message = message
        super().__init__(message if path is None else f"{path}: {message}")

    def __str__(self) -> str:
        located = self.message if self.path is None else f"{self.path}: {self.message}"
        return located if self.excerpt is None else f"{located}\n{self.excerpt}"

    def located(self, text: str, span: tuple[int, int]) -> QueryError:
        """The same error, pointed at ``span`` of the text form instead of a tree path."""
        return QueryError(self._reason, suggestions=self.suggestions, text=text, span=span)


def child_path(path: str, key: str | int) -> str:
    """The path of item ``key`` (a list index or a name) below ``path``."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    name = str(key)
    if _PLAIN_KEY.match(name):
        return f"{path}.{name}"
    return f"{path}[{json.dumps(name, ensure_ascii=False)}]"


def nearest(name: Any, known: Iterable[Any]) -> list[str]:
    """Up to three known names closest to ``name``; a case-insensitive match if nothing is close."""
    candidates = list(dict.fromkeys(str(k) for k in known))
    close = difflib.get_close_matches(str(name), candidates, n=3, cutoff=0.6)
    if close:
        return close
    lowered = str(name).lower()
    return [c for c in candidates if c.lower() == lowered][:1]


def hint(suggestions: list[str]) -> str:
    """`` (did you mean 'x' or 'y'?)`` for a list of suggestions, or ''."""
    if not suggestions:
        return ""
    return " (did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "?)"


def unknown(what: str, name: Any, known: Iterable[Any], *, where: str = "", **location: Any) -> QueryError:
    """The error for a name the ontology (or the language) does not know, with suggestions."""
    close = nearest(name, known)
    return QueryError(f"unknown {what} '{name}'{where}{hint(close)}", suggestions=close, **location)


def describe(value: Any) -> str:
    """A short description of a JSON value for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"string '{value[:80]}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def caret_excerpt(text: str, span: tuple[int, int]) -> str:
    """The line holding ``span[0]`` with carets under the span (clipped to that line and to
    a window around it, so a long query still gives a readable excerpt)."""
    start, end = span
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end == -1 else line_end
    window_start = max(line_start, start - _EXCERPT_WIDTH // 2)
    window_end = min(line_end, window_start + _EXCERPT_WIDTH)
    prefix = "..." if window_start > line_start else ""
    suffix = "..." if window_end < line_end else ""
    shown = prefix + text[window_start:window_end] + suffix
    offset = len(prefix) + start - window_start
    width = max(1, min(end, window_end) - start)
    return f"{shown}\n{' ' * offset}{'^' * width}"
