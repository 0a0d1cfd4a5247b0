"""Static files: plotly.js from the installed plotly package, and how they are stored.

The dashboard draws the figures that the Python plotly builds with the plotly.js
bundled in that same package, so the two versions always match and the 4.6 MB
bundle is never committed. The test live server finds it here; ``collectstatic``
copies it to ``STATIC_ROOT/vendor/plotly.min.js`` with the others.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage

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


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's storage (each file under a name with its content's hash, and gzipped),
    which also rewrites the dashboard's JavaScript module imports (``from "./api.js"``) to
    the hashed names, so that a page never mixes modules of two versions."""

    support_js_module_import_aggregation = True
