"""Resumable uploads over loopback: throughput, the server's memory, and a resume at half-way.

    python -m bench.upload [--sizes 256M,2G] [--chunk 8M] [--data-dir DIR] [--keep]

A fresh data dir (a temporary one unless ``--data-dir``) and a real server (``manage.py serve``,
as ``make run`` starts it). For each size, a file of that size is written first (a small real
video followed by random bytes, its SHA-256 computed as it is written), then uploaded through the
HTTP API as the upload page does: ``POST /api/v1/uploads/``, then ``PATCH`` chunks of ``--chunk``
bytes back to back over one connection. Half-way through, the connection is cut in the middle of
a chunk's body (the client closes its socket); a new connection asks for the offset (``HEAD``)
and sends the rest from there. The upload ends when the last chunk's answer (200) gives the
file's SHA-256, which must be the client's.

Printed as a Markdown table per size: the bytes, the seconds from the creation to the last
answer, MB/s (10^6 bytes) over that time and over the uninterrupted first half, the offset the
server held after the cut, whether the checksums match, and the peak resident memory (RSS) of the
server's web processes (``manage.py serve``'s master and gunicorn workers, sampled every 50 ms),
against their RSS before the upload: memory that does not grow with the file's size.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from bench import common
from bench.common import free_port, issue_token, manage, serve, wait_for_port

UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}
# The random bytes that follow the video are this block, repeated with a counter mixed in.
BLOCK = 8 * 1024**2
SAMPLE_S = 0.05
# A shared machine may take minutes to start the server.
SERVER_START_S = 300


def parse_size(text: str) -> int:
    text = text.strip().upper()
    return int(float(text[:-1]) * UNITS[text[-1]]) if text[-1] in UNITS else int(text)


def write_file(path: Path, size: int) -> str:
    """A file of ``size`` bytes: a small real video, then pseudo-random bytes. Its SHA-256."""
    head = _small_video(path.with_suffix(".head.webm"))
    digest = hashlib.sha256()
    block = os.urandom(BLOCK)
    with open(path, "wb") as out:
        out.write(head[:size])
        digest.update(head[:size])
        written, counter = min(len(head), size), 0
        while written < size:
            piece = (counter.to_bytes(8, "little") + block[8:])[: size - written]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
            counter += 1
    return digest.hexdigest()


def _small_video(path: Path) -> bytes:
    """Two seconds of a moving grey square (VP8 in WebM), 160x120."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), 10.0, (160, 120))
    for frame in range(20):
        picture = np.zeros((120, 160, 3), np.uint8)
        picture[40:80, frame * 6 : frame * 6 + 40] = 128
        writer.write(picture)
    writer.release()
    content = path.read_bytes()
    path.unlink()
    return content


def web_rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` and its descendants, but the Celery worker's tree."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    celery: set[int] = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        process = int(status.parent.name)
        children.setdefault(int(fields["PPid"]), []).append(process)
        rss[process] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        if b"celery" in command.split(b"\0")[:3]:
            celery.add(process)
    total, pending = 0, [pid]
    while pending:
        process = pending.pop()
        if process in celery:
            continue
        total += rss.get(process, 0)
        pending += children.get(process, [])
    return total


class Sampler(threading.Thread):
    """The peak of :func:`web_rss_bytes` while it runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, web_rss_bytes(self.pid))
            time.sleep(SAMPLE_S)


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=600)


def _answer(connection: http.client.HTTPConnection) -> tuple[int, dict[str, str], bytes]:
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def upload(port: int, token: str, path: Path, chunk: int) -> dict:
    size = path.stat().st_size
    auth = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
    connection = _connection(port)
    started = time.perf_counter()
    name = base64.b64encode(path.name.encode()).decode()
    connection.request("POST", "/api/v1/uploads/", headers={**auth, "Upload-Length": str(size),
                                                            "Upload-Metadata": f"filename {name}"})
    status, headers, body = _answer(connection)
    assert status == 201, body
    url, offset, half_s = headers["Location"], 0, None
    cut_at = size // 2
    with open(path, "rb") as source:
        while offset < size:
            source.seek(offset)
            piece = source.read(chunk)
            chunk_headers = {**auth, "Content-Type": "application/offset+octet-stream",
                             "Upload-Offset": str(offset), "Content-Length": str(len(piece))}
            if half_s is None and offset + len(piece) > cut_at:
                # Cut the link in the middle of this chunk's body, as a dropped connection would.
                half_s = time.perf_counter() - started
                connection.putrequest("PATCH", url, skip_accept_encoding=True)
                for header, value in chunk_headers.items():
                    connection.putheader(header, value)
                connection.endheaders()
                connection.send(piece[: cut_at - offset])
                connection.sock.shutdown(socket.SHUT_RDWR)
                connection.close()
                connection = _connection(port)
                connection.request("HEAD", url, headers=auth)
                status, headers, _body = _answer(connection)
                offset = resumed_at = int(headers["Upload-Offset"])
                continue
            connection.request("PATCH", url, body=piece, headers=chunk_headers)
            status, headers, body = _answer(connection)
            if status == 200:
                finished = json.loads(body)
                break
            assert status == 204, body
            offset = int(headers["Upload-Offset"])
    elapsed = time.perf_counter() - started
    connection.close()
    return {"elapsed_s": elapsed, "first_half_s": half_s, "resumed_at": resumed_at, "cut_at": cut_at,
            "sha256": finished["sha256"], "video": finished["video"]}


def run(sizes: list[int], chunk: int, data_dir: Path, work: Path) -> list[dict]:
    manage(data_dir, "migrate")
    token = issue_token(data_dir, "bench-analyst", "analyst")
    port = free_port()
    server = serve(data_dir, port, SCOOP_THROTTLE_UPLOAD="1000000/minute", SCOOP_THROTTLE_API="1000000/minute",
                   SCOOP_UPLOAD_MAX_BYTES=str(max(sizes)))
    rows = []
    try:
        common.SERVER_START_S = max(common.SERVER_START_S, SERVER_START_S)
        wait_for_port(port)
        for size in sizes:
            path = work / f"upload-{size}.bin"
            expected = write_file(path, size)
            idle = web_rss_bytes(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            result = upload(port, token, path, chunk)
            sampler.running = False
            sampler.join()
            path.unlink()
            rows.append({
                "bytes": size, "chunk": chunk, "seconds": round(result["elapsed_s"], 2),
                "mb_per_s": round(size / result["elapsed_s"] / 1e6, 1),
                "first_half_mb_per_s": round(result["cut_at"] / result["first_half_s"] / 1e6, 1),
                "cut_at": result["cut_at"], "resumed_at": result["resumed_at"],
                "checksum_matches": result["sha256"] == expected,
                "web_rss_idle_mb": round(idle / 1e6, 1), "web_rss_peak_mb": round(sampler.peak / 1e6, 1),
            })
    finally:
        server.terminate()
        server.wait(timeout=60)
    return rows


def markdown(rows: list[dict]) -> str:
    header = ("| bytes | chunk | seconds | MB/s | MB/s, first half | cut at | resumed at | same SHA-256 | "
              "web RSS idle (MB) | web RSS peak (MB) |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        lines.append(f"| {row['bytes']} | {row['chunk']} | {row['seconds']} | {row['mb_per_s']} | "
                     f"{row['first_half_mb_per_s']} | {row['cut_at']} | {row['resumed_at']} | "
                     f"{'yes' if row['checksum_matches'] else 'NO'} | {row['web_rss_idle_mb']} | "
                     f"{row['web_rss_peak_mb']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256M,2G", help="file sizes, comma-separated (K, M, G: powers of 1024)")
    parser.add_argument("--chunk", default="8M", help="bytes a PATCH sends")
    parser.add_argument("--data-dir", type=Path, default=None, help="the server's data dir (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    args = parser.parse_args()
    sizes = [parse_size(part) for part in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="scoop-bench-upload-"))
    data_dir = args.data_dir or work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        rows = run(sizes, parse_size(args.chunk), data_dir, work)
        for row in rows:
            print(json.dumps(row))
        print(markdown(rows))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.data_dir:
                shutil.rmtree(args.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
