"""Every file or folder of the repository that the docs name in backticks exists, so a
move or a rename cannot leave the docs pointing at nothing."""

from __future__ import annotations

import re
import subprocess

from tests.docs.examples import DOCS, REPO

# `indexer/search/contract.py`, `fixtures/formats/`, `tests/indexer/test_x.py`: a path that
# starts with one of the folders the repository tracks (not data/ or site/, which runs make).
TOP_LEVEL = subprocess.run(["git", "ls-tree", "-d", "--name-only", "HEAD"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
REPO_PATH = re.compile(r"`((?:" + "|".join(map(re.escape, TOP_LEVEL)) + r")/[\w./-]*)`")


def named_paths() -> dict[str, list[str]]:
    """Each path named in the docs or the README, with the pages that name it."""
    pages = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]
    found: dict[str, list[str]] = {}
    for page in pages:
        for match in REPO_PATH.finditer(page.read_text(encoding="utf-8")):
            path = match.group(1).rstrip(".")
            if "*" not in path and "<" not in path:
                found.setdefault(path, []).append(str(page.relative_to(REPO)))
    return found


def test_the_docs_name_paths_that_exist():
    paths = named_paths()
    assert len(paths) > 50  # the pattern finds the docs' many paths
    missing = {path: pages for path, pages in paths.items() if not (REPO / path).exists()}
    assert missing == {}
