"""Security headers that Django 5.2 does not set by itself.

Django's ``SecurityMiddleware`` already sends ``X-Content-Type-Options: nosniff``,
``Referrer-Policy`` and ``Cross-Origin-Opener-Policy``, and ``XFrameOptionsMiddleware``
sends ``X-Frame-Options: DENY`` (settings in ``scoop/settings/base.py``). This module
adds a Content-Security-Policy to every response and a Permissions-Policy that turns
off browser features Scoop never uses.

The policy allows what the dashboard's libraries need and nothing more (checked by
``tests/browser/test_csp.py``, which fails on any violation):

- scripts only from Scoop itself: no inline script, no ``eval`` (plotly.js draws
  the 2D charts Scoop uses without compiling code); no workers but Scoop's (plotly's
  blob: workers serve only its MapLibre map traces, which Scoop does not draw);
- styles from Scoop, plus ``style-src-attr 'unsafe-inline'``: plotly.js writes
  ``style=""`` attributes (refused, its charts lose their layout), which cannot carry
  script; inline ``<style>`` elements are refused but for the few plotly.js adds,
  allowed by hash (``plotly_style_hashes``);
- images from Scoop and ``data:`` (Swagger UI's icons; plotly's "download plot as
  png" draws through a data: image), plus the tile server named by ``SCOOP_MAP_TILES``
  (OpenStreetMap's by default; none with ``off``);
- media from Scoop or any http(s) URL, since a video's media may be a URL the browser
  plays directly (media cannot run script);
- no plugins, no framing by other sites, forms post only to Scoop.

``/api/docs/`` (Swagger UI) also gets inline ``<style>`` elements, which its page uses.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from scoop.staticfiles import plotly_js_path

# Paths whose pages need inline <style> elements (third-party templates).
INLINE_STYLE_PATHS = ("/api/docs/",)

# plotly.js's <style> elements in its bundle: `createElement("style")` then a constant
# `.textContent='...'` (MapLibre's stylesheet, added when the bundle registers its map traces).
PLOTLY_STYLE = re.compile(r"""createElement\("style"\);[^;]{0,300}?\.textContent='([^'\\]*)'""")


def style_hash(text: str) -> str:
    """The CSP source that allows exactly one inline <style> element with this text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@cache
def plotly_style_hashes() -> tuple[str, ...]:
    """The hashes of the inline <style> elements that the served plotly.js adds: an empty
    one that it fills through the CSSOM (insertRule, which the CSP does not govern), and
    the constant stylesheets in its bundle. Any other inline style stays refused."""
    bundle = plotly_js_path().read_text(encoding="utf-8")
    return (style_hash(""), *(style_hash(text) for text in PLOTLY_STYLE.findall(bundle)))

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def tile_source(template: str) -> str | None:
    """The CSP source for a Leaflet tile URL template: its scheme and host, with a
    ``{s}`` subdomain placeholder as a wildcard (``https://*.tile.example.org``)."""
    if not template:
        return None
    parts = urlsplit(template.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(*, tiles: str = "", inline_styles: bool = False) -> str:
    """The Content-Security-Policy header value (see the module docstring)."""
    images = ["'self'", "data:"]
    tile_host = tile_source(tiles)
    if tile_host:
        images.append(tile_host)
    style_elements = ["'self'", "'unsafe-inline'"] if inline_styles else ["'self'", *plotly_style_hashes()]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": style_elements,
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": images,
        "media-src": ["'self'", "http:", "https:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy to every response
    (a view that sets its own keeps it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        inline_styles = request.path.startswith(INLINE_STYLE_PATHS)
        response.headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(tiles=settings.SCOOP_MAP_TILES, inline_styles=inline_styles),
        )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
