"""The client and the worker run on machines without Django: importing them must not load it,
nor any of Scoop's server packages."""

import subprocess
import sys

from tests.conftest import REPO

SERVER_PACKAGES = ("django", "rest_framework", "scoop", "accounts", "indexer", "analytics")


def test_the_client_and_the_worker_import_without_django():
    script = ("import sys, scoop_client, scoop_worker, scoop_worker.__main__; "
              f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SERVER_PACKAGES!r}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
