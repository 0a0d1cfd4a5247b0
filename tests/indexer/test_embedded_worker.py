"""The embedded worker's helper process (indexer.embedded_worker.HelperProcess): heavy tasks run in
another process at a lower CPU priority, errors come back as they were raised, a helper
that died is replaced, and a helper never outlives its server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from indexer import embedded_worker
from indexer.embedded_worker import HelperDied, HelperProcess, run_heavy
from tests.conftest import REPO


def _refuse(message: str) -> None:
    raise ValueError(message)


@pytest.fixture
def helper():
    helper = HelperProcess(nice=5)
    yield helper
    helper.stop()


def test_a_task_runs_in_another_process_at_the_given_niceness(helper):
    assert helper.run(os.getpid) != os.getpid()
    assert helper.run(os.nice, 0) == min(os.nice(0) + 5, 19)
    assert helper.run(os.getpid) == helper.run(os.getpid)  # one process, started once


def test_an_error_comes_back_as_raised(helper):
    with pytest.raises(ValueError, match="frames.1.objects: not a list"):
        helper.run(_refuse, "frames.1.objects: not a list")
    assert helper.run(os.getpid) != os.getpid()


def test_a_helper_that_died_is_a_clear_error_and_the_next_task_gets_a_new_one(helper):
    first = helper.run(os.getpid)
    with pytest.raises(HelperDied, match="helper process stopped while running the task"):
        helper.run(os._exit, 3)
    second = helper.run(os.getpid)
    assert second not in (first, os.getpid())


def test_without_a_helper_tasks_run_in_the_worker_thread(monkeypatch):
    monkeypatch.setattr(embedded_worker, "HELPER", None)
    assert run_heavy(os.getpid) == os.getpid()


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_helper_dies_with_its_server():
    server = subprocess.Popen(
        [sys.executable, "-c", "import os, time; from indexer.embedded_worker import HelperProcess; "
         "print(HelperProcess(nice=1).run(os.getpid), flush=True); time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        helper_pid = int(server.stdout.readline())
        os.kill(helper_pid, 0)  # alive
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(helper_pid):
            time.sleep(0.05)
        assert not _alive(helper_pid)
    finally:
        server.kill()
        server.wait(10)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie waits only for its (init) parent
    except FileNotFoundError:
        return False
