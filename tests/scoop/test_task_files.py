"""The embedded deployment's task broker (scoop/task_files.py): messages as files in one folder,
shared by the web processes that queue tasks and the worker that takes them. Each message comes
out once, whole and in the order it was sent, however many processes write and read at once; a
message queued, or a task that ends, wakes a waiting worker, and no ring lost loses a message;
and when serve starts, each unfinished ingest job has exactly one message (scoop.server)."""

from __future__ import annotations

import json
import threading
from queue import Empty

import pytest
from kombu import Connection

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.models import IngestJob
from indexer.services import ingest_job_create, schema_create
from scoop.celery import app as celery_app
from scoop.server import ingest_jobs_requeue

TRANSPORT = "scoop.task_files:Transport"


def files_broker(folder) -> Connection:
    return Connection("filesystem://localhost", transport=TRANSPORT, transport_options={"folder": str(folder)})


def take_all(queue) -> list:
    taken = []
    while True:
        try:
            message = queue.get(timeout=0.05)
        except Empty:
            return taken
        taken.append(message.payload)
        message.ack()


def test_messages_come_out_once_each_in_the_order_they_were_sent(tmp_path):
    with files_broker(tmp_path) as connection:
        queue = connection.SimpleQueue("ingest")
        for number in range(300):
            queue.put({"n": number})

        taken = take_all(queue)

    assert taken == [{"n": number} for number in range(300)]


def test_a_message_still_being_written_is_not_taken(tmp_path):
    with files_broker(tmp_path) as connection:
        queue = connection.SimpleQueue("ingest")
        (tmp_path / "00000000000000000001_half.ingest.msg.part").write_text('{"body": "eyJu')
        queue.put({"n": 1})

        taken = take_all(queue)

    assert taken == [{"n": 1}]
    assert (tmp_path / "00000000000000000001_half.ingest.msg.part").exists()


def test_writers_and_readers_at_once_lose_and_repeat_nothing(tmp_path):
    """Four writers and three readers, each with its own connection, as separate web
    processes and workers have: every message is read exactly once, none half-written."""
    sent_per_writer, taken, errors = 150, [], []
    done_writing = threading.Event()

    def write(writer: int) -> None:
        with files_broker(tmp_path) as connection:
            queue = connection.SimpleQueue("ingest")
            for number in range(sent_per_writer):
                queue.put({"writer": writer, "n": number})

    def read() -> None:
        with files_broker(tmp_path) as connection:
            queue = connection.SimpleQueue("ingest")
            while True:
                # Empty means drained only for a look that began after the last message was sent.
                drained_if_empty = done_writing.is_set()
                try:
                    message = queue.get(timeout=0.05)
                except Empty:
                    if drained_if_empty:
                        return
                    continue
                except Exception as error:  # a half-written message would fail to decode here
                    errors.append(repr(error))
                    return
                taken.append((message.payload["writer"], message.payload["n"]))
                message.ack()

    readers = [threading.Thread(target=read) for _ in range(3)]
    writers = [threading.Thread(target=write, args=(writer,)) for writer in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done_writing.set()
    for thread in readers:
        thread.join()

    assert errors == []
    assert sorted(taken) == [(writer, number) for writer in range(4) for number in range(sent_per_writer)]
    assert sorted(path.name for path in (tmp_path / "claimed").iterdir()) == []


# A worker that only polled would sleep this long between two looks: far longer than the
# tests wait for it (JOIN_S), so a message taken within JOIN_S was taken because the bell rang.
SLOW_POLL_S = 600
JOIN_S = 60


def slow_polling_broker(folder) -> Connection:
    return Connection("filesystem://localhost", transport=TRANSPORT,
                      transport_options={"folder": str(folder), "polling_interval": SLOW_POLL_S})


def take_in_background(queue) -> tuple[threading.Thread, list]:
    """A thread that waits (up to SLOW_POLL_S) for one message of ``queue``; what it took."""
    taken: list = []

    def take() -> None:
        message = queue.get(timeout=SLOW_POLL_S)
        taken.append(message.payload)
        message.ack()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread, taken


def test_a_message_queued_by_another_process_wakes_the_waiting_worker(tmp_path):
    with slow_polling_broker(tmp_path) as worker, files_broker(tmp_path) as web:
        waiting = worker.SimpleQueue("ingest")
        with pytest.raises(Empty):
            waiting.get(timeout=0.01)  # the worker has looked once, found nothing, and listens
        thread, taken = take_in_background(waiting)

        web.SimpleQueue("ingest").put({"n": 1})
        thread.join(JOIN_S)

    assert not thread.is_alive()
    assert taken == [{"n": 1}]
    assert (tmp_path / "wake.fifo").is_fifo()


def test_a_task_that_ends_wakes_the_worker_to_take_the_next_message(tmp_path):
    """With one slot (prefetch 1), the second message waits for the first one's acknowledgement,
    which rings the bell, as a Celery worker's pool acknowledges a task that ends."""
    with slow_polling_broker(tmp_path) as worker:
        queue = worker.SimpleQueue("ingest")
        queue.consumer.qos(prefetch_count=1)
        queue.put({"n": 1})
        queue.put({"n": 2})
        first = queue.get(timeout=5)
        thread, taken = take_in_background(queue)

        first.ack()
        thread.join(JOIN_S)

    assert first.payload == {"n": 1}
    assert not thread.is_alive()
    assert taken == [{"n": 2}]


def test_rings_that_nobody_hears_lose_no_message(tmp_path):
    """Messages queued before any worker listened, and after the one that listened left (its pipe
    stays, without a reader), are all there for the next worker."""
    with files_broker(tmp_path) as web:
        web.SimpleQueue("ingest").put({"n": 1})  # no pipe yet
    with files_broker(tmp_path) as worker:
        assert take_all(worker.SimpleQueue("ingest")) == [{"n": 1}]
    with files_broker(tmp_path) as web:
        web.SimpleQueue("ingest").put({"n": 2})  # a pipe nobody reads

        with files_broker(tmp_path) as worker:
            taken = take_all(worker.SimpleQueue("ingest"))

    assert taken == [{"n": 2}]


def test_without_a_pipe_the_worker_polls_as_before(tmp_path):
    (tmp_path / "wake.fifo").write_text("not a pipe")
    with files_broker(tmp_path) as connection:
        queue = connection.SimpleQueue("ingest")
        with pytest.raises(Empty):
            queue.get(timeout=0.05)
        queue.put({"n": 1})

        taken = take_all(queue)

    assert taken == [{"n": 1}]
    assert (tmp_path / "wake.fifo").read_text() == "not a pipe"


@pytest.fixture
def serve_broker(tmp_path):
    """The Celery app on a files broker in tmp_path, as ``manage.py serve`` has it."""
    kept = {name: celery_app.conf[name] for name in
            ("broker_url", "broker_transport", "broker_transport_options", "task_always_eager")}
    celery_app.conf.update(broker_url="filesystem://localhost", broker_transport=TRANSPORT,
                           broker_transport_options={"folder": str(tmp_path / "tasks")}, task_always_eager=False)
    _forget_connections()
    yield tmp_path / "tasks"
    celery_app.conf.update(kept)
    _forget_connections()


def _forget_connections() -> None:
    """Drop the app's cached broker pools so the next send uses the broker now configured."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def queued_job_ids(folder) -> list[str]:
    """The job ids of the ingest messages in the folder, in the order they were sent."""
    messages = sorted(path for path in folder.iterdir() if path.name.endswith(".ingest.msg"))
    return [json.loads(path.read_text())["headers"]["argsrepr"].strip("(',)") for path in messages]


@pytest.mark.django_db
def test_serve_leaves_each_unfinished_job_exactly_one_message_oldest_first(
    serve_broker, tmp_path, django_capture_on_commit_callbacks
):
    schema = schema_create(name="gen", document=DEFAULT_ONTOLOGY.to_document(), author=None)
    payload = write_eta_video(tmp_path / "cam.json", frames=10, objects_per_frame=2, seed=1).path.read_bytes()

    def job(video: str, *, status: str, queue_it: bool) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            made = ingest_job_create(chunks=[payload], video_name=video, schema=schema, format=None, mode="strict",
                                     options=None, user=None, enqueue=queue_it)
        IngestJob.objects.filter(pk=made.pk).update(status=status)
        return str(made.id)

    # Before the stop: a running job whose message died with the worker, a queued one whose
    # message is still there, a queued one the worker had taken, and a finished one.
    running = job("a", status=IngestJob.RUNNING, queue_it=False)
    waiting = job("b", status=IngestJob.QUEUED, queue_it=True)
    taken = job("c", status=IngestJob.QUEUED, queue_it=False)
    job("d", status=IngestJob.SUCCEEDED, queue_it=False)
    assert queued_job_ids(serve_broker) == [waiting]

    requeued = ingest_jobs_requeue(celery_app)

    assert requeued == 3
    assert queued_job_ids(serve_broker) == [running, waiting, taken]
    assert set(IngestJob.objects.filter(pk__in=[running, waiting, taken]).values_list("status", flat=True)) == {
        IngestJob.QUEUED}
