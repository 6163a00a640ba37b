"""docs/privacy.md lists every table of the schema, so a new table cannot go undocumented;
and every retention setting it names exists."""

from __future__ import annotations

import re
from pathlib import Path

from spoor.db.schema import metadata
from spoor.settings import SETTINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def test_every_table_is_in_the_data_inventory() -> None:
    text = DOC.read_text()
    inventory = text.split("## Data inventory", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", inventory, flags=re.MULTILINE)
    assert len(listed) == len(set(listed)), "a table is listed twice"
    missing = set(metadata.tables) - set(listed)
    assert not missing, f"add these tables to the data inventory in docs/privacy.md: {missing}"
    assert set(listed) <= set(metadata.tables), "the inventory lists a table that is gone"


def test_the_retention_settings_are_documented() -> None:
    text = DOC.read_text()
    names = {s.name for s in SETTINGS if s.name.startswith("SPOOR_RETAIN_")}
    assert len(names) == 4
    for name in names:
        default = next(s.default for s in SETTINGS if s.name == name)
        assert f"| `{name}` | {default} |" in text, name
