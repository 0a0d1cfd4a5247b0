"""Every example in the docs runs.

The API guide's shell examples run in order, in one bash session, against a live
``manage.py serve`` on a fresh data dir holding the demo data (as ``make run``
leaves it): each command must exit 0 and each ``curl`` call must answer the HTTP
status its ``# -> NNN`` comment gives (see :mod:`tests.docs.examples`). Shell
blocks elsewhere in the docs either are part of that run or say why they are not.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.docs.examples import (
    DOCS,
    REPO,
    Block,
    api_guide_blocks,
    api_guide_pages,
    api_guide_script,
    nav_pages,
    shell_blocks,
)

SCRIPT_TIMEOUT_S = 600
SERVER_START_S = 60


def _require_jq() -> None:
    if shutil.which("jq"):
        return
    message = "jq is not installed (the API guide's examples read answers with it): apt-get install jq"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and SCOOP_REQUIRE_SERVICES=1")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"manage.py serve exited with {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"manage.py serve did not listen on port {port} within {SERVER_START_S} s")


def _workdir(tmp_path: Path) -> Path:
    """Where the examples run: it looks like the repository root (``fixtures/``,
    ``manage.py``, ``.venv/bin/python``), but the files they write land here."""
    work = tmp_path / "work"
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / "fixtures").symlink_to(REPO / "fixtures")
    (work / "manage.py").symlink_to(REPO / "manage.py")
    python = work / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return work


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``make run`` on a fresh data dir: migrate, the demo data, ``manage.py serve`` on a free port."""
    tmp_path = tmp_path_factory.mktemp("docs-examples")
    data_dir = tmp_path / "data"
    env = {**os.environ, "SCOOP_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "scoop.settings.embedded",
           "PYTHONPATH": str(REPO)}
    for command in (["migrate", "--noinput"], ["load_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True,
                       capture_output=True, timeout=300)
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as output:
        server = subprocess.Popen([sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"], cwd=REPO, env=env,
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, server, log)
        yield {**env, "SCOOP": f"http://127.0.0.1:{port}"}, _workdir(tmp_path), log
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run(script: str, env: dict[str, str], workdir: Path) -> subprocess.CompletedProcess:
    path = workdir / "examples.sh"
    path.write_text(script)
    return subprocess.run(["bash", str(path)], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=SCRIPT_TIMEOUT_S)


def test_the_api_guide_has_examples_on_every_page():
    pages = api_guide_pages()
    assert pages[0] == "api/index.md"
    empty = [page for page in pages if not any(block.not_run is None for block in shell_blocks(page))]
    assert empty == [], f"API guide pages without a runnable sh block: {empty}"


def test_api_guide_examples_run_in_order_against_a_live_scoop(served):
    _require_jq()
    env, workdir, log = served
    blocks = api_guide_blocks()

    result = _run(api_guide_script(blocks), env, workdir)

    assert result.returncode == 0, (
        f"the API guide's examples failed (exit {result.returncode}):\n{result.stderr[-6000:]}\n"
        f"--- stdout ---\n{result.stdout[-3000:]}\n--- server ---\n{log.read_text()[-3000:]}"
    )


def test_a_wrong_status_fails_and_names_the_line_of_the_docs(served):
    _require_jq()
    env, workdir, _ = served
    block = Block(page="api/example.md", line=10, lines=[
        'curl -H "Authorization: Token nonsense" "$SCOOP/api/v1/schemas/"',
        "# -> 200 [...]",
    ])

    result = _run(api_guide_script([block]), env, workdir)

    assert result.returncode != 0
    assert "docs example at docs/api/example.md:11: expected HTTP 200, got 401" in result.stderr


def test_an_unexpected_error_status_fails_without_a_comment(served):
    _require_jq()
    env, workdir, _ = served
    block = Block(page="api/example.md", line=3, lines=['curl "$SCOOP/api/v1/schemas/"'])

    result = _run(api_guide_script([block]), env, workdir)

    assert result.returncode != 0
    assert "docs example at docs/api/example.md:3: expected HTTP below 400, got 401" in result.stderr


def test_every_shell_block_outside_the_api_guide_runs_or_says_why_not():
    guide = set(api_guide_pages())
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    unmarked = [f"docs/{block.page}:{block.line}" for page in pages if page not in guide
                for block in shell_blocks(page) if block.not_run is None]
    assert unmarked == [], (
        "shell blocks outside the API guide must be run by it or marked '<!-- not run: why -->': "
        f"{unmarked}")


def test_every_page_in_docs_is_in_the_navigation():
    listed = set(nav_pages())
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert [page for page in pages if page not in listed] == []
