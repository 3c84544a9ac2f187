"""Data files' text: UTF-8 with or without a byte-order mark, GB18030 when the start is not UTF-8, read
as a stream (portal/textfiles.py, shared by the volume count and the row store)."""

from __future__ import annotations

import csv
import io

from portal import textfiles
from portal.rows import readers
from portal.sync import volume

ROWS = '区县,人口\r\n南湖区,"62万\r\n常住"\r\n秀洲区,73万\r\n'


def _read(data: bytes, **kwargs) -> str:
    return textfiles.decoded(io.BytesIO(data), **kwargs).read()


def test_utf8_with_or_without_a_byte_order_mark():
    assert _read(ROWS.encode("utf-8")) == ROWS
    assert _read(b"\xef\xbb\xbf" + ROWS.encode("utf-8")) == ROWS  # the mark is dropped


def test_gb18030_when_the_start_is_not_utf8():
    assert _read(ROWS.encode("gb18030")) == ROWS


def test_a_character_cut_by_the_sniffed_start_is_still_utf8():
    data = ("a" * 9 + "嘉兴" * 10).encode("utf-8")  # the 10-byte start ends inside 嘉
    assert _read(data, sniff=10) == "a" * 9 + "嘉兴" * 10


def test_bad_bytes_past_the_start_become_replacement_characters():
    data = ROWS.encode("utf-8") + b"\xff\xfe,x\r\n"
    assert _read(data, sniff=8).endswith("\ufffd\ufffd,x\r\n")


def test_newlines_inside_quoted_cells_survive_for_the_csv_module():
    rows = list(csv.reader(textfiles.decoded(io.BytesIO(ROWS.encode("gb18030")))))
    assert rows == [["区县", "人口"], ["南湖区", "62万\r\n常住"], ["秀洲区", "73万"]]


def test_the_volume_count_and_the_row_store_read_a_gb18030_file_alike():
    data = ROWS.encode("gb18030")
    assert volume.measure(io.BytesIO(data), "CSV") == (2, 2)
    names, _types = readers.scan(lambda: io.BytesIO(data), "CSV")
    assert names == ["区县", "人口"]
    rows = list(readers.rows(lambda: io.BytesIO(data), "CSV", 2))
    assert rows == [["南湖区", "62万\r\n常住"], ["秀洲区", "73万"]]


def test_nul_bytes_are_dropped_in_the_start_and_after_it_even_a_read_of_nothing_else():
    data = "名称\0,值\r\n".encode("gb18030") + b"\0" * 8 + "南湖\0区,1\r\n".encode("gb18030")
    assert _read(data, sniff=4) == "名称,值\r\n南湖区,1\r\n"
    assert _read(data) == "名称,值\r\n南湖区,1\r\n"
