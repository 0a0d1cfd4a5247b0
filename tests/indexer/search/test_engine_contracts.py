"""The search engines' import contracts can break. tests/test_layout.py checks that every
contract holds on the real import graph; a contract that checks nothing would pass quietly
there, so the engine contracts are also run against a small package tree in which one engine
imports another and the reference engine: they must report both breaks.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
ENGINE_CONTRACTS = ("search-engines-independent", "search-reference-is-an-oracle")


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _ini(contract: dict) -> str:
    lines = [f"[importlinter:contract:{contract['id']}]"]
    for key, value in contract.items():
        if key == "id":
            continue
        if isinstance(value, list):
            lines.append(f"{key} =\n" + "\n".join(f"    {item}" for item in value))
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines)


def test_the_engine_contracts_catch_an_engine_importing_another(tmp_path):
    modules = {
        "indexer/__init__.py": "",
        "indexer/search/__init__.py": "",
        "indexer/search/contract.py": "",
        "indexer/search/semantics.py": "",
        "indexer/search/vectors.py": "",
        "indexer/search/reference/__init__.py": "from indexer.search import semantics\n",
        "indexer/search/duckdb/__init__.py": "from indexer.search.reference import SearchBackend\n",
        "indexer/search/elasticsearch/__init__.py": "from indexer.search import contract\n",
    }
    for path, text in modules.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = [contract for contract in settings["contracts"] if contract["id"] in ENGINE_CONTRACTS]
    assert [contract["id"] for contract in contracts] == list(ENGINE_CONTRACTS)
    config = "[importlinter]\nroot_packages =\n    indexer\n\n" + "\n\n".join(map(_ini, contracts)) + "\n"
    (tmp_path / ".importlinter").write_text(config)

    result = lint_imports(tmp_path, "--config", ".importlinter")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Search engines do not import each other BROKEN" in result.stdout
    assert "no engine and no shared module imports it BROKEN" in result.stdout.replace("\n", " ")
    assert "indexer.search.duckdb -> indexer.search.reference" in result.stdout
