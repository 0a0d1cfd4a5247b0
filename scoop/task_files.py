"""The embedded deployment's task broker: Celery messages as files in one folder.

``manage.py serve`` runs several web processes and one task worker process
(:mod:`scoop.server`). They cannot share an in-memory broker, and the embedded
deployment installs no broker server, so the web processes write each message as a
file in ``SCOOP_DATA_DIR/tasks`` and the worker takes them from there, oldest first.

This is kombu's filesystem transport with two changes that make it safe for processes
that write and read the folder at the same time:

- a message is written under a temporary name and then renamed into place, so a reader
  never sees it half-written (kombu's creates the file under its final name, then
  writes it: a reader can take an empty message, kombu issue #1551);
- a reader claims a message by renaming it into ``claimed/`` in the same folder, one
  atomic step on one file system, and names sort in the order messages were sent
  (kombu's moves the file to the system's temporary folder, which may be another file
  system, and its names, milliseconds without leading zeros, sort wrongly once the
  clock gains a digit).

A message leaves the folder when the worker takes it; the worker holds it in memory
until its task ends. Messages that a killed worker held are therefore gone:
``manage.py serve`` queues the unfinished ingest jobs again from the database when it
starts (:func:`scoop.server.ingest_jobs_requeue`).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

CLAIMED = "claimed"


class Channel(filesystem.Channel):
    """Messages of every queue in the folder given as the ``folder`` transport option,
    named ``<send time in ns, 20 digits>_<random>.<queue>.msg``."""

    @cached_property
    def folder(self) -> Path:
        folder = Path(self.transport_options["folder"])
        (folder / CLAIMED).mkdir(parents=True, exist_ok=True)
        return folder

    @cached_property
    def data_folder_in(self) -> str:
        return str(self.folder)

    @cached_property
    def data_folder_out(self) -> str:
        return str(self.folder)

    @property
    def control_folder(self) -> Path:
        return self.folder / "control"

    def _put(self, queue: str, payload: dict, **kwargs) -> None:
        # The machine's monotonic clock: one for every process, never set back.
        name = f"{time.monotonic_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"
        writing = self.folder / f"{name}.part"  # not "<queue>.msg": no reader takes it
        try:
            writing.write_bytes(str_to_bytes(dumps(payload)))
            os.replace(writing, self.folder / name)
        except OSError as error:
            writing.unlink(missing_ok=True)
            raise ChannelError(f"cannot queue a task in {self.folder}: {error}") from error

    def _get(self, queue: str) -> dict:
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.folder)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = self.folder / CLAIMED / name
            try:
                os.rename(self.folder / name, claimed)
            except FileNotFoundError:
                continue  # another reader took it first
            try:
                return loads(bytes_to_str(claimed.read_bytes()))
            finally:
                claimed.unlink()
        raise Empty()


class Transport(filesystem.Transport):
    """The transport, with the declared exchanges and bindings kept per folder (kombu keeps them
    for all its filesystem connections in a process together: a binding declared for one folder
    was then never written to another's ``control/``, and its messages went nowhere)."""

    Channel = Channel
    states: dict[str, virtual.BrokerState] = {}

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        self.state = self.states.setdefault(client.transport_options["folder"], virtual.BrokerState())
