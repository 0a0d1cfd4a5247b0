"""Django's own error answers under ``/api/`` and ``/media/``, as JSON ``{"detail": ...}``.

An unknown route, a method a view does not take, a server error: Django answers them
with HTML pages (with ``DEBUG``, its debug pages) before or after any API view runs.
These middlewares import nothing of DRF: they load before DRF reads its settings."""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware import common
from django.urls import is_valid_path

API_PREFIXES = ("/api/", "/media/")
# Headers that describe a replaced error page's body, not the answer.
BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding", "content-disposition",
                          "content-language"})


class CommonMiddleware(common.CommonMiddleware):
    """Django's, except that a POST, PUT, PATCH or DELETE under ``/api/`` without its
    trailing slash is not redirected (a redirect loses the body, and with ``DEBUG``
    Django raises instead): it answers a JSON 404 naming the URL with the slash."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if request.method not in ("GET", "HEAD") and request.path_info.startswith(API_PREFIXES):
            return False
        return super().should_redirect_with_slash(request)


class JsonErrorsMiddleware:
    """Replaces Django's error pages (HTML, or with ``DEBUG`` its debug pages) under
    ``/api/`` and ``/media/`` with ``{"detail": ...}``; the API's own JSON errors pass."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not request.path.startswith(API_PREFIXES) or _is_json(response):
            return response
        answer = JsonResponse({"detail": _error_detail(request, response.status_code)},
                              status=response.status_code)
        for header, value in response.headers.items():
            if header.lower() not in BODY_HEADERS:
                answer.headers.setdefault(header, value)
        return answer


def _is_json(response: HttpResponse) -> bool:
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    return media_type == "application/json" or media_type.endswith("+json")


def _error_detail(request: HttpRequest, code: int) -> str:
    if code == HTTPStatus.NOT_FOUND:
        return _no_such_route(request)
    if code == HTTPStatus.METHOD_NOT_ALLOWED:
        return f'Method "{request.method}" not allowed.'
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = f"HTTP {code}"
    return f"{phrase}: the server failed on this request and logged why." if code >= 500 else phrase


def _no_such_route(request: HttpRequest) -> str:
    path = request.path_info
    if not path.endswith("/") and is_valid_path(f"{path}/", getattr(request, "urlconf", None)):
        return f"no such route; did you mean {request.path}/?"
    return f"no such route: {request.path}"
