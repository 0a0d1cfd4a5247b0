"""The sample analytics files every format test reads: ``fixtures/formats`` in this
repository (its README names each file's source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FORMATS_DIR = REPO / "fixtures" / "formats"


def sample(name: str) -> Path:
    """The path of one sample file; fails loudly when it is missing."""
    path = FORMATS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"sample file {name} not found in {FORMATS_DIR}")
    return path


def write_json(directory: Path, document: Any, name: str = "payload.json") -> Path:
    """Write ``document`` as a JSON file in ``directory`` and return its path."""
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
