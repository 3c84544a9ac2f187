"""Keep the translations current: extract messages, merge them into zh_CN, fill, compile.

python scripts/i18n.py update            # extract + merge (new msgids get empty msgstr)
python scripts/i18n.py fill FILE.json    # set msgstr from a {"msgid": "译文"} file; a message with a
                                         # context (pgettext) is keyed "context\u0004msgid", as in .mo files
python scripts/i18n.py compile           # write messages.mo
python scripts/i18n.py check             # exit 1 when a msgid lacks a translation
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "translations" / "messages.pot"
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
CONTEXT_SEPARATOR = "\x04"  # gettext's separator between a message's context and its id


def extract() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            # pgettext and npgettext are Babel's defaults; the lazy form is not.
            "-k",
            "lazy_pgettext:1c,2",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-o",
            str(POT),
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


def update() -> None:
    extract()
    template = read_po(POT.open("rb"))
    if PO.exists():
        catalog = read_po(PO.open("rb"), locale="zh_CN")
        catalog.update(template, no_fuzzy_matching=True)
    else:
        PO.parent.mkdir(parents=True, exist_ok=True)
        catalog = template
        catalog.locale = "zh_CN"
    _write(catalog)


def fill(path: str) -> None:
    catalog = read_po(PO.open("rb"), locale="zh_CN")
    for key, msgstr in json.loads(Path(path).read_text(encoding="utf-8")).items():
        context, _, msgid = key.rpartition(CONTEXT_SEPARATOR)
        message = catalog.get(msgid, context or None)
        if message is not None:
            message.string = msgstr
            message.flags.discard("fuzzy")
    _write(catalog)


def missing() -> list[str]:
    catalog = read_po(PO.open("rb"), locale="zh_CN")
    return [
        f"{m.context}{CONTEXT_SEPARATOR}{m.id}" if m.context else m.id
        for m in catalog
        if m.id and not m.string
    ]


def compile_mo() -> None:
    catalog = read_po(PO.open("rb"), locale="zh_CN")
    with MO.open("wb") as f:
        write_mo(f, catalog)


def _write(catalog) -> None:
    with PO.open("wb") as f:
        write_po(f, catalog, omit_header=False, no_location=True, sort_output=True, include_previous=False)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "update"
    if command == "update":
        update()
    elif command == "fill":
        fill(sys.argv[2])
    elif command == "compile":
        compile_mo()
    elif command == "check":
        gaps = missing()
        print("\n".join(gaps) or "all translated")
        sys.exit(1 if gaps else 0)
