"""Generate the demo catalogue: a `ckanapi dump datasets` JSON-lines file and the data files it points at.

    python seeds/catalogue/generate.py           # rewrite demo-catalogue.jsonl, files/ and
                                                 # ../departments.json, ../themes.json
    python seeds/catalogue/generate.py --check   # validate what is on disk, print the counts

Only the standard library and openpyxl are used. Every random choice comes from a `random.Random` seeded with
SEED and the dataset's name, and every id is a uuid5 of a natural key, so reruns give byte-identical output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the sibling modules are plain modules, also when this file is imported
    sys.path.insert(0, str(HERE))

from hostile import HOSTILE  # noqa: E402
from organizations import THEMES, departments, seed_mapping  # noqa: E402
from packages import Plan, build  # noqa: E402
from topics import kinds  # noqa: E402

SEED = "jiaxing-demo-catalogue-2026"
DUMP = HERE / "demo-catalogue.jsonl"
FILES = HERE / "files"
DEPARTMENTS_JSON = HERE.parent / "departments.json"
THEMES_JSON = HERE.parent / "themes.json"


def plans() -> list[Plan]:
    """Return every dataset to generate: each department's topics (per year), then the hostile ones."""
    result = []
    by_slug = {}
    topic_kinds = kinds()
    for dept in departments():
        by_slug[dept.slug] = dept
        systems, topics = topic_kinds[dept.kind]
        for topic in topics:
            if not topic.published_by(dept.county.prefix if dept.county else None):
                continue
            years = topic.years if dept.county is None else topic.years[-1:]
            for year in years or (None,):
                name = f"{dept.slug}-{topic.slug}" + (f"-{year}" if year else "")
                title = dept.region_name + (f"{year}年" if year else "") + topic.title
                result.append(Plan(name, title, dept, topic, systems, year))
    for hostile in HOSTILE:
        dept = by_slug[hostile.department]
        systems, topics = topic_kinds[dept.kind]
        topic = next(t for t in topics if t.slug == hostile.topic)
        result.append(Plan(hostile.name, hostile.title, dept, topic, systems, None, hostile))
    return result


def generate() -> int:
    """Rewrite the dump, its files and the department and theme seeds; return the number of datasets."""
    if FILES.exists():
        shutil.rmtree(FILES)
    packages = sorted((build(plan, HERE, SEED) for plan in plans()), key=lambda p: p["name"])
    # As `ckanapi dump datasets` writes: package_list order (by name), compact UTF-8 JSON, sorted keys.
    with DUMP.open("w", encoding="utf-8", newline="\n") as f:
        for package in packages:
            f.write(json.dumps(package, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n")
    _write_json(DEPARTMENTS_JSON, seed_mapping(departments()))
    _write_json(THEMES_JSON, [{"name": t.name, "title": t.title, "title_en": t.title_en} for t in THEMES])
    return len(packages)


def _write_json(path: Path, rows: list[dict]) -> None:
    lines = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="validate the generated files and print counts")
    args = parser.parse_args(argv)
    if args.check:
        from validate import check

        problems, summary = check(DUMP, DEPARTMENTS_JSON, THEMES_JSON)
        print(summary)
        for problem in problems:
            print("PROBLEM:", problem, file=sys.stderr)
        return 1 if problems else 0
    count = generate()
    print(f"wrote {count} datasets to {DUMP.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
