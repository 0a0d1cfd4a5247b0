"""The layout holds: the import contracts of pyproject.toml (layers, no cycles, a client
and a worker without Django), no import hidden in a function to dodge a cycle, and the
tasks that services queue by name exist under those names."""

from __future__ import annotations

import ast
import logging
import tomllib

import pytest
from celery import current_app
from importlinter.cli import lint_imports

from indexer import services, tasks
from tests.conftest import REPO

CONFIG = REPO / "pyproject.toml"
ROOT_PACKAGES = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]["root_packages"]
# The imports of Scoop's own modules that may sit inside a function, each for a reason
# other than a cycle: (importing file, imported module).
LAZY_IMPORTS = {
    # torch loads only in the processes that analyse video or embed a crop.
    ("indexer/analyses.py", "scoop_worker"),
    ("indexer/analyses.py", "scoop_worker.labels"),
    ("indexer/pipelines.py", "scoop_worker.detections"),
    ("indexer/pipelines.py", "scoop_worker.detectors"),
    ("analytics/similar.py", "scoop_worker.embedding"),
    # Django's hook for registering things once the models can be imported.
    ("indexer/apps.py", "indexer"),
    ("analytics/apps.py", "analytics"),
    ("analytics/apps.py", "analytics.models"),
    ("analytics/apps.py", "indexer.signals"),
    ("analytics/review/apps.py", "analytics.review.selectors"),
    ("analytics/review/apps.py", "indexer.overlays"),
    # A benchmark that sets Django up on a data dir of its own before it may import models.
    ("bench/ingest_cpu.py", "accounts.services"),
    ("bench/ingest_cpu.py", "indexer.search"),
    ("bench/ingest_cpu.py", "indexer.services"),
    ("bench/label_export.py", "analytics.label_export"),
    ("bench/label_export.py", "fixtures.generate_eta"),
    ("bench/label_export.py", "indexer.selectors"),
}


@pytest.fixture(autouse=True)
def _loggers_left_on():
    """import-linter configures logging in process and disables every logger that existed: turn
    them on again, so that the tests after these still see what Scoop logs."""
    before = {name for name, logger in logging.root.manager.loggerDict.items()
              if isinstance(logger, logging.Logger) and not logger.disabled}
    yield
    for name in before:
        logging.getLogger(name).disabled = False


def test_the_import_contracts_hold(capsys):
    exit_code = lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True)

    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "0 broken" in report


def test_a_broken_contract_is_reported_with_the_import_that_breaks_it(tmp_path, capsys):
    # accounts sits below indexer, so indexer importing accounts is fine: a contract that
    # says otherwise must fail and name the import.
    config = tmp_path / "contracts.toml"
    config.write_text(
        "[tool.importlinter]\n"
        f"root_packages = {ROOT_PACKAGES!r}\n"
        "[[tool.importlinter.contracts]]\n"
        'name = "indexer without accounts"\n'
        'type = "forbidden"\n'
        'source_modules = ["indexer"]\n'
        'forbidden_modules = ["accounts"]\n'
    )

    exit_code = lint_imports(config_filename=str(config), no_cache=True, no_logo=True)

    report = capsys.readouterr().out
    assert exit_code == 1
    assert "indexer without accounts BROKEN" in report
    assert "indexer.selectors -> accounts.roles" in report


def _function_level_imports() -> set[tuple[str, str]]:
    """(file, module) of every import of a root package made inside a function or method."""
    found = set()
    for package in ROOT_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        modules = [node.module]
                    elif isinstance(node, ast.Import):
                        modules = [alias.name for alias in node.names]
                    else:
                        continue
                    found.update((str(path.relative_to(REPO)), module) for module in modules
                                 if module.split(".")[0] in ROOT_PACKAGES)
    return found


def test_no_import_of_scoop_s_own_modules_hides_in_a_function_but_the_lazy_ones():
    assert _function_level_imports() == LAZY_IMPORTS


def test_services_queue_tasks_under_the_names_the_tasks_module_registers():
    # shared_task hands out proxies: compare the functions the registered tasks run.
    assert current_app.tasks[services.INGEST_RUN_TASK].run is tasks.ingest_run_task.run
    assert current_app.tasks[services.VIDEO_PROBE_TASK].run is tasks.video_probe_task.run
