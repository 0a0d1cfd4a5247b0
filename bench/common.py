"""What the benchmark programs share: running ``manage.py`` on a data dir, serving it, a free
port, waiting for a server, tokens, a person's pauses, a process tree's CPU time, and
percentiles."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SERVER_START_S = 60


def embedded_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment, on the embedded settings with ``data_dir``, quiet, plus ``settings``."""
    return {**os.environ, "SCOOP_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "scoop.settings.embedded",
            "LOG_LEVEL": "WARNING", **settings}


def manage(data_dir: Path, *args: str, capture: bool = True) -> subprocess.CompletedProcess:
    """``manage.py ARGS`` on the embedded settings with ``data_dir`` as its data dir; raises when it fails."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=embedded_env(data_dir), check=True,
                          capture_output=capture, text=True)


def serve(data_dir: Path, port: int, *, log: Any = subprocess.DEVNULL, **settings: str) -> subprocess.Popen:
    """``manage.py serve`` on ``port`` as ``make run`` starts it (web processes, task worker), with
    ``settings`` added to its environment; its output goes to ``log`` (a file, or nowhere)."""
    return subprocess.Popen([sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"], cwd=REPO,
                            env=embedded_env(data_dir, **settings), stdout=log, stderr=subprocess.STDOUT)


def pause_s(think: float, rng: random.Random, *, arriving: bool = False) -> float:
    """A person's pause of about ``think`` seconds: between half and one and a half times it;
    ``arriving``, before the first request, anywhere in the first ``think`` seconds (people do not
    all start at one instant)."""
    return rng.uniform(0, think) if arriving else rng.uniform(0.5, 1.5) * think


def issue_token(data_dir: Path, name: str, role: str) -> str:
    """The API token of user ``name`` with ``role`` (created if needed)."""
    return manage(data_dir, "issue_token", name, "--role", role).stdout.strip().splitlines()[-1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int) -> None:
    """Return once a server accepts connections on ``port``; raises after SERVER_START_S seconds."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def tree_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds (user and system) that process ``pid`` and its descendants have used, those that
    ended included when their parent waited for them (Linux's ``/proc``), by kind: ``tasks`` for a
    Celery worker and its pool, ``web`` for the rest (``manage.py serve``'s master and web processes)."""
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    celery: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        # The command name, in parentheses, may hold spaces: the fields after it are split.
        fields = text[text.rindex(")") + 2:].split()
        process, parent = int(stat.parent.name), int(fields[1])
        children.setdefault(parent, []).append(process)
        used[process] = sum(int(ticks) for ticks in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        if b"celery" in command.split(b"\0")[:3]:
            celery.add(process)
    spent = {"web": 0.0, "tasks": 0.0}
    pending = [(pid, "web")]
    while pending:
        process, kind = pending.pop()
        kind = "tasks" if process in celery else kind
        spent[kind] += used.get(process, 0.0)
        pending += [(child, kind) for child in children.get(process, [])]
    return spent


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` (0..1) of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
