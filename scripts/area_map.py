"""Print which areas each area imports, as a Markdown table, and the pairs that import each other.

    .venv/bin/python scripts/area_map.py [--with-type-checking] [--path DIR]

Areas are the packages under portal/. Imports made only for the type checker are left out unless asked
for, as the import-linter contracts in pyproject.toml leave them out. `--path` reads another checkout
(for instance one made with `git archive <commit> portal | tar -x -C DIR`) to compare with an older state.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

import grimp


def area_map(with_type_checking: bool = False) -> dict[str, set[str]]:
    graph = grimp.build_graph("portal", exclude_type_checking_imports=not with_type_checking, cache_dir=None)
    areas = {module.split(".")[1] for module in graph.find_children("portal") if graph.find_children(module)}
    imports: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in areas:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            other = imported.split(".")
            if len(other) > 1 and other[1] in areas and other[1] != parts[1]:
                imports[parts[1]].add(other[1])
    return {area: imports[area] for area in sorted(areas)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-type-checking", action="store_true", help="count TYPE_CHECKING imports too")
    parser.add_argument("--path", help="the folder that holds the portal package (default: this checkout)")
    options = parser.parse_args()
    if options.path:
        sys.path.insert(0, options.path)
    found = area_map(options.with_type_checking)
    print("| area | imports |\n| --- | --- |")
    for area, imported in found.items():
        print(f"| `{area}` | {', '.join(sorted(imported)) or '—'} |")
    both = [f"{a}↔{b}" for a, imported in found.items() for b in sorted(imported) if a < b and a in found[b]]
    print(f"\nImport each other: {', '.join(both) or 'none'}")


if __name__ == "__main__":
    main()
