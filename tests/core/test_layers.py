"""The layers of docs/architecture.md, held by import-linter's contracts in pyproject.toml.

The contracts fail when an area imports one in a layer above its own, when two areas of one layer import each
other, or when modules import each other in a circle; the failure names the imports to remove.
"""

from __future__ import annotations

import pathlib
import re
import tomllib

from importlinter import cli

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_the_import_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    status = cli.lint_imports(no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report


def test_every_area_has_a_layer_and_the_architecture_shows_them_in_order():
    declared = [[name.strip() for name in layer.split("|")] for layer in _contracts()["layers"]["layers"]]
    areas = sorted(path.parent.name for path in (ROOT / "portal").glob("*/__init__.py"))
    assert sorted(name for layer in declared for name in layer) == areas
    documented = (ROOT / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| (\d) \| (.+?) \|", documented, flags=re.M)
    shown = [sorted(re.findall(r"`(\w+)`", names)) for _, names in rows]
    assert shown == [sorted(layer) for layer in declared]
