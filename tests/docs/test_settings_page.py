"""Every setting read from the environment is on the settings page (docs/operations/settings.md)."""

import re

from tests.docs.examples import DOCS, REPO

SETTINGS = REPO / "scoop" / "settings"
# The test settings module (scoop/settings/test.py) reads what only the tests use.
TEST_SETTINGS = "test.py"


def _read_from_environment() -> set[str]:
    names = set()
    for module in SETTINGS.glob("*.py"):
        if module.name == TEST_SETTINGS:
            continue
        names |= set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", module.read_text()))
    return names


def test_the_settings_page_lists_every_setting_read_from_the_environment():
    page = (DOCS / "operations" / "settings.md").read_text()
    # A row's first cell names one setting or several: | `A`, `B` | default | meaning |
    first_cells = re.findall(r"^\| ([^|]+) \|", page, flags=re.MULTILINE)
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    read = _read_from_environment()

    assert len(read) > 40
    assert sorted(read - documented) == []
