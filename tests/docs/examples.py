"""The shell examples of the documentation, as scripts a test can run.

The API guide (``docs/api/*.md``) is written as one session at a terminal: its
fenced ``sh`` blocks, in the order of the site's navigation (``mkdocs.yml``),
run one after another in one shell, against the server that ``make run`` starts.
A line ``# -> 201 ...`` after a command gives the HTTP status that its ``curl``
calls must answer (and, for the reader, an abbreviated answer). It applies to
the ``curl`` calls since the previous comment or blank line; every other
``curl`` call must answer a status below 400.

:func:`api_guide_script` turns the blocks into one bash script: ``set -euo
pipefail``, a ``curl`` function that records ``%{http_code}`` and compares it
with the expected status, and an ``__expect FILE LINE STATUS`` line before each
command that has one, so a failure names the line of the docs it came from.

A block that cannot run in the test says so in an HTML comment on the line
before its fence: ``<!-- not run: needs a GPU -->``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
API_GUIDE = "api/"
SHELL_FENCE = re.compile(r"^```(sh|bash|shell)\s*$")
FENCE_END = re.compile(r"^```\s*$")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*\S.*-->\s*$")
EXPECTED = re.compile(r"^#\s*->\s*(\d{3})\b")

# Runs before the examples: strict bash, and curl that checks the HTTP status.
PRELUDE = r"""set -euo pipefail
shopt -s inherit_errexit
__EXPECT="" __WHERE=""
__expect() { __WHERE="$1:$2"; __EXPECT="$3"; }
curl() {
    local out status code=0
    out=$(mktemp)
    command curl --silent --show-error --write-out '\n%{http_code}' "$@" >"$out" || code=$?
    if (( code != 0 )); then
        echo "docs example at $__WHERE: curl failed with exit status $code" >&2
        rm -f "$out"
        return "$code"
    fi
    status=$(tail -n 1 "$out")
    head -c "-$(( ${#status} + 1 ))" "$out"
    if [[ -n $__EXPECT && $status != "$__EXPECT" ]] || [[ -z $__EXPECT && $status -ge 400 ]]; then
        echo "docs example at $__WHERE: expected HTTP ${__EXPECT:-below 400}, got $status:" >&2
        head -c 2000 "$out" >&2
        echo >&2
        rm -f "$out"
        return 1
    fi
    rm -f "$out"
}
"""


@dataclass
class Block:
    """One fenced shell block: its page (relative to docs/), the line of its first
    command (1-based), its lines, and why it is not run (None: it runs)."""

    page: str
    line: int
    lines: list[str]
    not_run: str | None = None


def nav_pages(config: Path = REPO / "mkdocs.yml") -> list[str]:
    """The Markdown pages of the site's navigation, in order (relative to docs/)."""
    nav = yaml.safe_load(config.read_text(encoding="utf-8"))["nav"]
    return list(_flatten(nav))


def _flatten(entry) -> list[str]:
    if isinstance(entry, str):
        return [entry] if entry.endswith(".md") else []
    if isinstance(entry, dict):
        return [page for value in entry.values() for page in _flatten(value)]
    return [page for item in entry for page in _flatten(item)]


def shell_blocks(page: str) -> list[Block]:
    """Every fenced sh/bash block of a page, with its not-run reason if it has one."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        if not SHELL_FENCE.match(lines[index]):
            index += 1
            continue
        start = index + 1
        end = start
        while end < len(lines) and not FENCE_END.match(lines[end]):
            end += 1
        blocks.append(Block(page=page, line=start + 1, lines=lines[start:end], not_run=_not_run(lines, index)))
        index = end + 1
    return blocks


def _not_run(lines: list[str], fence: int) -> str | None:
    before = [line for line in lines[:fence] if line.strip()]
    if before and NOT_RUN.match(before[-1].strip()):
        return before[-1].strip()
    return None


def api_guide_pages() -> list[str]:
    """The API guide's pages that exist in docs/ (the generated reference does not), in nav order."""
    return [page for page in nav_pages() if page.startswith(API_GUIDE) and (DOCS / page).is_file()]


def api_guide_blocks() -> list[Block]:
    return [block for page in api_guide_pages() for block in shell_blocks(page)]


def block_script(block: Block) -> str:
    """A block's lines, with ``__expect`` lines that set the expected status (or
    none) and the docs location before each command."""
    where = f"docs/{block.page}"
    out = [f"__expect {where} {block.line} ''"]
    paragraph_start = len(out)
    for offset, line in enumerate(block.lines):
        number = block.line + offset
        expected = EXPECTED.match(line.strip())
        if expected:
            out.insert(paragraph_start, f"__expect {where} {number} {expected.group(1)}")
            out.append(f"__expect {where} {number + 1} ''")
            paragraph_start = len(out)
            continue
        out.append(line)
        if not line.strip() or line.lstrip().startswith("#"):
            paragraph_start = len(out)
    return "\n".join(out)


def api_guide_script(blocks: list[Block]) -> str:
    """One bash script running every block that is not marked as not run, in order."""
    parts = [PRELUDE]
    for block in blocks:
        if block.not_run is None:
            parts.append(f"# ---- docs/{block.page}, line {block.line}")
            parts.append(block_script(block))
    return "\n".join(parts) + "\n"
