"""Choosing a search engine: SCOOP_SEARCH_ENGINE names it, its package declares its options,
the settings read only the chosen engine's, and every engine, the reference one included,
answers searches once chosen."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from fixtures.generate_eta import DEFAULT_ONTOLOGY, write_eta_video
from indexer.models import IngestJob
from indexer.search import ENGINES, engine_module, engine_settings, get_search_backend, search_backend
from indexer.search import duckdb as duckdb_engine
from indexer.search import reference as reference_engine
from indexer.search.elasticsearch import backend as es_backend
from scoop import server
from scoop.celery import app as celery_app
from scoop.management.commands import serve
from tests.indexer.search.elasticsearch.test_requests import Cluster, production_settings

KINDS = ("str", "int", "float", "bool")


def choose(settings, name: str) -> None:
    """Select the engine ``name`` as the settings do, with this test's data folder."""
    settings.SCOOP_SEARCH_BACKEND = engine_settings(
        name, env=environ.Env(), values={"SCOOP_DATA_DIR": str(settings.SCOOP_DATA_DIR)})
    search_backend.cache_clear()


def ingest(client, capture, content: bytes, video: str) -> IngestJob:
    upload = SimpleUploadedFile("analytics.json", content, content_type="application/json")
    with capture(execute=True):
        response = client.post("/api/v1/ingest/", {"file": upload, "video": video}, format="multipart")
    assert response.status_code == 202, response.content
    return IngestJob.objects.get(pk=response.json()["id"])


def search_counts(client) -> dict:
    response = client.post("/api/v1/search/", {"q": "*"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["counts"]


# Options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENGINES)
def test_each_engine_declares_the_options_its_search_backend_takes(name):
    module = engine_module(name)
    parameters = inspect.signature(module.SearchBackend).parameters
    for option in module.OPTIONS:
        assert option.name in parameters, f"{name}: {option.name} is not a SearchBackend argument"
        assert (option.env is None) != (option.setting is None), f"{name}: {option.name} needs env or setting"
        assert option.kind in KINDS and option.help


def test_the_reference_engine_takes_no_options():
    assert reference_engine.OPTIONS == ()
    assert engine_settings("reference", env=environ.Env(), values={}) == {
        "ENGINE": "indexer.search.reference", "OPTIONS": {}}


def test_settings_read_only_the_chosen_engines_options(monkeypatch):
    monkeypatch.setenv("SCOOP_DUCKDB_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("SCOOP_RESULT_CACHE", "0")
    monkeypatch.setenv("ELASTICSEARCH_URL", "https://es:9200")
    monkeypatch.setenv("ELASTICSEARCH_TIMEOUT", "12.5")
    env, values = environ.Env(), {"SCOOP_DATA_DIR": "/srv/scoop"}

    assert engine_settings("duckdb", env=env, values=values) == {"ENGINE": "indexer.search.duckdb", "OPTIONS": {
        "data_dir": "/srv/scoop", "memory_limit": "512MB", "threads": None, "searches": None, "merge_factor": 4,
        "result_cache": 0, "kept_frames_mb": 256}}
    assert engine_settings("elasticsearch", env=env, values=values) == {
        "ENGINE": "indexer.search.elasticsearch", "OPTIONS": {
            "url": "https://es:9200", "username": "", "password": "", "api_key": "", "ca_certs": "",
            "timeout": 12.5, "max_retries": 3, "index_prefix": "scoop"}}


def test_an_engine_package_elsewhere_is_named_by_its_dotted_path():
    chosen = engine_settings("indexer.search.duckdb", env=environ.Env(), values={"SCOOP_DATA_DIR": "/d"})
    assert chosen["ENGINE"] == "indexer.search.duckdb" and chosen["OPTIONS"]["data_dir"] == "/d"


def test_an_unknown_engine_is_a_clear_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="SCOOP_SEARCH_ENGINE='sqlite' is not an engine: use duckdb, "
                                                   "elasticsearch, reference or the dotted path"):
        engine_module("sqlite")
    with pytest.raises(ImproperlyConfigured, match="there is no module nowhere.engine"):
        engine_module("nowhere.engine")


# Searching with the chosen engine ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "engine"), [("duckdb", duckdb_engine.SearchBackend),
                                               ("reference", reference_engine.SearchBackend)])
def test_an_engine_chosen_in_the_settings_indexes_and_answers_searches(
    name, engine, settings, tmp_path, admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks
):
    choose(settings, name)
    admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    video = write_eta_video(tmp_path / "video.json", frames=40, objects_per_frame=3, seed=1)

    job = ingest(worker_client, django_capture_on_commit_callbacks, video.path.read_bytes(), "cam")

    assert job.status == "succeeded", job.error
    assert type(get_search_backend()) is engine
    counts = search_counts(analyst_client)
    assert (counts["videos"], counts["frames"], counts["objects"]) == (1, 40, video.objects) == (1, 40, 120)


@pytest.mark.django_db
def test_elasticsearch_chosen_in_the_settings_reaches_its_cluster_and_answers(
    settings, monkeypatch, admin_client, analyst_client
):
    monkeypatch.setenv("ELASTICSEARCH_URL", "https://es.test:9200")
    monkeypatch.setenv("ELASTICSEARCH_API_KEY", "a2V5")
    monkeypatch.setenv("SCOOP_ES_INDEX_PREFIX", "picked")
    cluster, made = Cluster(), {}
    monkeypatch.setattr(es_backend, "Elasticsearch", lambda **options: made.update(options) or cluster.client())
    choose(settings, "elasticsearch")
    admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    # Nothing was indexed yet: the alias is missing, so the search answers zeros.
    missing = {"error": {"type": "index_not_found_exception", "reason": "no such index [picked-frames]"},
               "status": 404}
    cluster.expect("POST", "/picked-frames/_pit", missing, status=404)

    counts = search_counts(analyst_client)

    cluster.done()
    assert (made["hosts"], made["api_key"], made["request_timeout"]) == (["https://es.test:9200"], "a2V5", 30.0)
    assert counts == {"videos": 0, "clips": 0, "frames": 0, "objects": 0, "tracks": 0, "duration_s": 0.0}


# The reference engine lives in one process --------------------------------------------------------


@pytest.mark.django_db
def test_serve_with_the_reference_engine_indexes_and_runs_tasks_in_its_one_web_process(
    settings, monkeypatch, tmp_path, admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks,
    capsys
):
    choose(settings, "reference")
    admin_client.post("/api/v1/schemas/", {"name": "gen", "schema": DEFAULT_ONTOLOGY.to_document()}, format="json")
    video = write_eta_video(tmp_path / "video.json", frames=40, objects_per_frame=3, seed=1)
    job = ingest(worker_client, django_capture_on_commit_callbacks, video.path.read_bytes(), "cam")
    assert job.status == "succeeded", job.error
    search_backend.cache_clear()  # a new process: its in-memory index starts empty
    assert get_search_backend().video_ids() == []
    served = {}
    monkeypatch.setattr(serve, "WebServer", lambda options, task_workers: SimpleNamespace(
        run=lambda: served.update(options=options, task_workers=task_workers)))
    monkeypatch.setattr(server, "start_inprocess_worker", lambda app: served.update(worker_thread_app=app))

    call_command("serve", "127.0.0.1:8123")
    served["options"]["post_worker_init"](None)  # what the web process does once gunicorn has forked it

    output = capsys.readouterr()
    assert (served["options"]["bind"], served["options"]["workers"]) == (["127.0.0.1:8123"], 1)
    assert served["task_workers"] == []  # no task worker process: its index would be its own
    assert served["worker_thread_app"] is celery_app
    assert "keeps its index in one process's memory" in output.err and "indexed 1 video(s)" in output.out
    assert search_counts(analyst_client)["objects"] == 120


def test_production_refuses_the_reference_engine_and_keeps_duckdb_without_a_cluster():
    refused = production_settings(SCOOP_SEARCH_ENGINE="reference")
    assert refused.returncode != 0
    assert "SCOOP_SEARCH_ENGINE=reference keeps its index in one process's memory" in refused.stderr
    duckdb = production_settings()
    assert duckdb.returncode == 0, duckdb.stderr
    assert "'ENGINE': 'indexer.search.duckdb'" in duckdb.stdout
