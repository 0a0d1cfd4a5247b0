"""Where the shared sample analytics files live: ``$SCOOP_FORMATS_DIR``, else
``shared/data/formats`` next to the repository (``<repo>/../shared``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def formats_dir() -> Path:
    """The directory of the sample files described in its README.md."""
    configured = os.environ.get("SCOOP_FORMATS_DIR")
    return Path(configured) if configured else (REPO / ".." / "shared" / "data" / "formats").resolve()


def sample(name: str) -> Path:
    """The path of one sample file; fails loudly when the samples are missing."""
    path = formats_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"sample file {name} not found in {formats_dir()} (set SCOOP_FORMATS_DIR)")
    return path


def write_json(directory: Path, document: Any, name: str = "payload.json") -> Path:
    """Write ``document`` as a JSON file in ``directory`` and return its path."""
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
