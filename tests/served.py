"""Scoop's servers as separate processes, for the tests that drive them over HTTP: start a
command with its output in a log, wait until it answers, look at its processes in /proc, and a
small HTTP client that keeps every answer's status and headers."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
import uuid
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from tests.conftest import REPO

START_S = 90


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self):
        return json.loads(self.body)


class Http:
    """Requests to 127.0.0.1:``port``, with ``token`` if given; HTTP errors are answers too."""

    def __init__(self, port: int, token: str | None = None):
        self.port, self.token = port, token

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        sent = {"Authorization": f"Token {self.token}"} if self.token else {}
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers={name.replace("_", "-"): value for name, value in headers.items()})

    def post_json(self, path: str, document) -> Answer:
        return self.request("POST", path, body=json.dumps(document).encode(),
                            headers={"Content-Type": "application/json"})

    def post_files(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> Answer:
        """A multipart/form-data POST: ``files`` maps a field to (file name, content, content type)."""
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in fields.items()]
        for name, (filename, content, content_type) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, body=b"".join(parts),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def job_end(self, url: str, timeout: float = 180) -> dict:
        """The ingest job at ``url`` once it has ended (succeeded or failed)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(url).json()
            if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.2)


def spawn(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """``command`` in the repository, its output appended to ``log``."""
    with open(log, "a") as output:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_until_answering(port: int, process: subprocess.Popen, log: Path, path: str = "/login/") -> None:
    """Return once ``GET path`` answers; fail with the log's end if the process ends first."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            Http(port).get(path)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port} within {START_S} s:\n{log.read_text()[-4000:]}")


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def descendants(pid: int) -> list[int]:
    """The living processes below ``pid`` (children, their children...), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, parent, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def parent(pid: int) -> int:
    return int(_stat(pid)[1])


def niceness(pid: int) -> int:
    """The process's nice value (field 19 of /proc/PID/stat)."""
    return int(_stat(pid)[16])


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def alive(pid: int) -> bool:
    try:
        return _stat(pid)[0] != "Z"  # a zombie waits only for its parent to collect it
    except OSError:
        return False
