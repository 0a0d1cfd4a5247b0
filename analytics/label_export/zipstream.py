"""A zip archive written as a stream: :mod:`zipfile` writes to a sink that only counts and
collects bytes, so each entry carries a data descriptor (sizes after the data) and nothing
is ever seeked; the caller takes the bytes as they come."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator

# Level 1: the export's time goes to reading and writing labels, not to squeezing the text.
COMPRESS_LEVEL = 1


class _Sink:
    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._offset = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts = []
        return data


def zip_stream(entries: Iterable[tuple[str, Iterable[str]]]) -> Iterator[bytes]:
    """The zip of ``entries`` ((name, text chunks), each read as it is written), in pieces."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
        for name, chunks in entries:
            with archive.open(name, "w", force_zip64=True) as entry:
                for chunk in chunks:
                    entry.write(chunk.encode())
                    if (data := sink.take()):
                        yield data
            yield sink.take()
    yield sink.take()
