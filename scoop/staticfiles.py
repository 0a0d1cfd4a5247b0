"""A static files finder for plotly.js, served from the installed plotly package.

The dashboard draws the figures that the Python plotly builds with the plotly.js
bundled in that same package, so the two versions always match and the 4.6 MB
bundle is never committed. ``runserver`` and the test live server find it here;
``collectstatic`` copies it to ``STATIC_ROOT/vendor/plotly.min.js`` for production.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor"
NAME = "plotly.min.js"


def plotly_js_path() -> Path:
    return Path(plotly.__file__).resolve().parent / "package_data" / NAME


class PlotlyFinder(BaseFinder):
    def check(self, **kwargs):
        from django.core import checks

        if plotly_js_path().is_file():
            return []
        return [checks.Error(f"{plotly_js_path()} is missing: reinstall the plotly package", id="scoop.E001")]

    def find(self, path, find_all=False, **kwargs):
        if path != f"{PREFIX}/{NAME}" or not plotly_js_path().is_file():
            return [] if find_all else None
        found = str(plotly_js_path())
        return [found] if find_all else found

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=str(plotly_js_path().parent))
        storage.prefix = PREFIX
        yield NAME, storage
