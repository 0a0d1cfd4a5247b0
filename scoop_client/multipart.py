"""A streaming multipart/form-data body for urllib: files are read in chunks,
never loaded whole, so a worker can upload a video of any size."""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class MultipartBody(io.RawIOBase):
    """A readable file-like body of text ``fields`` and ``files`` ({field: path});
    ``content_type`` and ``length`` go into the request headers."""

    def __init__(self, fields: Mapping[str, str], files: Mapping[str, Path]) -> None:
        super().__init__()
        self.boundary = f"scoop-{uuid.uuid4().hex}"
        self._parts: list[bytes | Path] = []
        for name, value in fields.items():
            self._parts.append(self._header(name) + b"\r\n" + value.encode("utf-8") + b"\r\n")
        for name, path in files.items():
            header = self._header(name, filename=path.name)
            self._parts.append(header + b"Content-Type: application/octet-stream\r\n\r\n")
            self._parts.append(path)
            self._parts.append(b"\r\n")
        self._parts.append(f"--{self.boundary}--\r\n".encode())
        self.length = sum(part.stat().st_size if isinstance(part, Path) else len(part) for part in self._parts)
        self._index = 0
        self._current: BinaryIO | None = None

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _header(self, name: str, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename.replace(chr(34), "_")}"'
        return f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n".encode()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else size
        while self._index < len(self._parts):
            part = self._parts[self._index]
            if isinstance(part, bytes):
                self._index += 1
                return part
            if self._current is None:
                self._current = part.open("rb")
            data = self._current.read(size)
            if data:
                return data
            self._current.close()
            self._current, self._index = None, self._index + 1
        return b""

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()
