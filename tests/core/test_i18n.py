"""Every message has a Chinese translation, and the compiled catalogue is current."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def test_every_message_in_the_code_is_translated(tmp_path):
    pot = tmp_path / "messages.pot"
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
            "-k",
            "lazy_pgettext:1c,2",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    wanted = {(m.context, m.id) for m in read_po(pot.open("rb")) if m.id}
    catalog = read_po(PO.open("rb"), locale="zh_CN")
    translated = {(m.context, m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    assert sorted(wanted - translated) == []


def test_compiled_catalogue_matches_the_po_file():
    buffer = io.BytesIO()
    write_mo(buffer, read_po(PO.open("rb"), locale="zh_CN"))
    assert PO.with_suffix(".mo").read_bytes() == buffer.getvalue()
