"""The tests mirror the package: tests/<area>/test_<module>.py for portal/<area>/, no test module importing
another, helpers in importable modules (see docs/adding-an-area.md, section 6)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
PORTAL = TESTS.parent / "portal"

# Folders of tests that no single portal package owns.
CROSS_CUTTING = {
    "core": "portal's top-level modules (portal/*.py: storage, filetypes, i18n, migrations ...)",
    "journeys": "journeys through several areas in a real browser",
    "suite": "the test suite's own tools: the fake CKAN, this layout",
}


def portal_packages() -> set[str]:
    return {p.parent.name for p in PORTAL.glob("*/__init__.py")}


def all_test_files() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def helper_packages() -> set[str]:
    """Folders of importable helpers (a package, such as ckanserver), which hold no tests."""
    return {p.parent.name for p in TESTS.glob("*/__init__.py")}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, also those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_no_test_module_imports_another_test_module_or_a_conftest():
    offences = []
    for path in sorted(TESTS.rglob("*.py")):
        for line, module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "portal":
                continue
            if any(part.startswith("test_") or part == "conftest" for part in parts):
                offences.append(f"{path.relative_to(TESTS)}:{line} imports {module}")
    assert not offences, (
        "move what is shared into a helper module (tests/<area>_factories.py) or a conftest.py fixture:\n"
        + "\n".join(offences)
    )


def test_every_test_folder_mirrors_a_portal_package_or_is_a_listed_cross_cutting_one():
    packages = portal_packages()
    folders = {path.relative_to(TESTS).parts[0] for path in all_test_files() if path.parent != TESTS}
    strays = sorted(folders - packages - set(CROSS_CUTTING))
    assert not strays, (
        f"tests/<folder>/ must be named after a portal package ({', '.join(sorted(packages))}) or be one of "
        f"{sorted(CROSS_CUTTING)}; a top-level module's tests go to tests/core/: {strays}"
    )


def test_no_test_file_sits_in_the_tests_root():
    assert not sorted(p.name for p in TESTS.glob("test_*.py"))


def test_test_folders_are_not_packages_and_helper_packages_hold_no_tests():
    """Test folders have no __init__.py (pytest imports each test file by its path); a helper package's
    files are imported by name, so a test inside it would be imported differently from all others."""
    test_packages = sorted(
        str(p.relative_to(TESTS)) for p in TESTS.rglob("__init__.py") if list(p.parent.glob("test_*.py"))
    )
    assert not test_packages
    assert not {path.relative_to(TESTS).parts[0] for path in all_test_files()} & helper_packages()


def test_helper_modules_do_not_shadow_a_standard_module():
    """tests/ is on sys.path: a helper called like a standard module would replace it everywhere."""
    helpers = {p.stem for p in TESTS.glob("*.py")} | helper_packages()
    assert not sorted(helpers & set(sys.stdlib_module_names))


def test_the_checks_see_what_they_check(tmp_path):
    """The import check catches a test module imported by name, from a function too."""
    sample = tmp_path / "test_sample.py"
    sample.write_text("import os\n\n\ndef test_x():\n    from test_other import thing\n", encoding="utf-8")
    assert (5, "test_other") in imported_modules(sample)
    assert {"core", "journeys", "suite"}.isdisjoint(portal_packages())
    assert {"catalogue", "contest", "sync"} <= portal_packages()
