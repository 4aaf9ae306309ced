"""The README's configuration table names every variable the settings read."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_read_from_the_environment_is_documented():
    settings_source = (ROOT / "adfame" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list|secret)\("([A-Z0-9_]+)"', settings_source))
    assert len(names) > 20
    readme = (ROOT / "README.md").read_text()
    assert {name for name in names if f"`{name}`" not in readme and name not in readme} == set()
