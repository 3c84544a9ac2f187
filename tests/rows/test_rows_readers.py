"""Reading a file once for a load: the first rows type the fields, every row streams through, and a later
value the guessed type cannot hold makes the file be typed whole, with the types a whole scan gives."""

from __future__ import annotations

import io
import json

import pytest

from portal.rows import readers


def opener(data: bytes):
    return lambda: io.BytesIO(data)


def read(data: bytes, fmt: str, *, whole: bool = False) -> tuple[list, list, list]:
    with readers.reading(opener(data), fmt, whole=whole) as table:
        return table.names, table.types, list(table.rows)


def test_the_first_rows_type_the_fields_and_every_row_streams_in_order(monkeypatch):
    monkeypatch.setattr(readers, "SAMPLE", 2)
    data = "名称,数量,面积,区号\n南湖,12,1.5,0573\n乌镇,-3,2,0571\n西塘,7,,\n".encode("gb18030")
    names, types, rows = read(data, "CSV")
    assert names == ["名称", "数量", "面积", "区号"]
    assert types == ["text", "int", "numeric", "text"] == readers.scan(opener(data), "CSV")[1]
    assert rows == [["南湖", "12", "1.5", "0573"], ["乌镇", "-3", "2", "0571"], ["西塘", "7", "", ""]]


def test_a_value_after_the_sample_that_its_type_cannot_hold_is_a_mismatch(monkeypatch):
    monkeypatch.setattr(readers, "SAMPLE", 2)
    data = b"n,code\n1,10\n2,11\n3.5,0012\n"
    names, types, rows = read(data, "CSV")
    assert types == ["int", "int"]
    convert = [readers.converter(t) for t in types]
    assert [convert[0](rows[0][0]), convert[1](rows[1][1])] == [1, 11]
    with pytest.raises(readers.Mismatch):
        convert[0](rows[2][0])
    with pytest.raises(readers.Mismatch):
        convert[1](rows[2][1])  # a leading zero: a code, not a number
    assert read(data, "CSV", whole=True)[1] == ["numeric", "text"] == readers.scan(opener(data), "CSV")[1]


def test_a_json_key_the_sample_lacked_is_a_mismatch_and_whole_reading_finds_every_key(monkeypatch):
    monkeypatch.setattr(readers, "SAMPLE", 1)
    data = json.dumps([{"名称": "甲", "数量": 1}, {"名称": "乙", "标签": ["a"]}], ensure_ascii=False).encode()
    with readers.reading(opener(data), "JSON") as table:
        assert (table.names, table.types) == (["名称", "数量"], ["text", "int"])
        with pytest.raises(readers.Mismatch):
            list(table.rows)
    names, types, rows = read(data, "JSON", whole=True)
    assert (names, types) == (["名称", "数量", "标签"], ["text", "int", "json"])
    assert rows == [["甲", 1, None], ["乙", None, ["a"]]]


@pytest.mark.parametrize(
    ("ckan_type", "value", "stored"),
    [
        ("int", "0", 0),
        ("int", "-12", -12),
        ("int", "+7", 7),
        ("int", " 42 ", 42),
        ("int", 9, 9),
        ("int", "", None),
        ("int", None, None),
        ("numeric", "1.5", 1.5),
        ("numeric", "-0.25", -0.25),
        ("numeric", "3", 3.0),
        ("numeric", "1e3", 1000.0),
        ("numeric", 2, 2.0),
        ("numeric", " 2.5", 2.5),
        ("text", 12, "12"),
        ("text", "0573", "0573"),
        ("json", {"a": "甲"}, '{"a": "甲"}'),
        ("json", "x", '"x"'),
    ],
)
def test_converters_store_what_the_guessed_type_holds(ckan_type, value, stored):
    assert readers.converter(ckan_type)(value) == stored
    column = readers.column_converter(ckan_type)
    assert column([value, "", None]) == [stored, None, None]  # a column as a CSV's, or another source's
    assert column(["7", value, "7"])[1] == stored


@pytest.mark.parametrize(
    ("ckan_type", "value"),
    [
        ("int", "0573"),
        ("int", "1.5"),
        ("int", "abc"),
        ("int", str(2**63)),
        ("int", True),
        ("int", 2.0),
        ("int", "１２"),  # full-width digits: text, as the guess says
        ("numeric", "0573"),
        ("numeric", "1e400"),
        ("numeric", "nan"),
        ("numeric", "inf"),
        ("numeric", "甲"),
        ("numeric", False),
        ("text", {"a": 1}),
        ("int", [1]),
        ("int", "1,2"),  # the cells are tested joined by commas (readers._each_matches)
        ("numeric", "1,5"),
        ("int", "1\n2"),
    ],
)
def test_converters_refuse_what_the_guess_would_not_have_typed_so(ckan_type, value):
    with pytest.raises(readers.Mismatch):
        readers.converter(ckan_type)(value)
    with pytest.raises(readers.Mismatch):  # a whole column refuses it too, among values its type holds
        readers.column_converter(ckan_type)(["1", None, value, ""])
    with pytest.raises(readers.Mismatch):  # and one kept as texts for COPY
        readers.column_converter(ckan_type, texts=True)(["1", None, value, ""])
    with pytest.raises(readers.Mismatch):  # a column without blanks, as most of a CSV's are
        readers.column_converter(ckan_type, texts=True)(["1", value, "2"])
    guesses = readers._Guesses(1)
    guesses.see([value])
    assert guesses.types() != [ckan_type]


def test_rows_of_another_width_than_the_header_are_fitted_in_the_sample_and_after(monkeypatch):
    monkeypatch.setattr(readers, "FITTED", 2)
    data = b"a,b\n1,2\n3\n4,5,6\n7,8\n9\n"
    assert read(data, "CSV")[2] == [["1", "2"], ["3", None], ["4", "5"], ["7", "8"], ["9", None]]
    monkeypatch.setattr(readers, "SAMPLE", 1)
    assert read(data, "CSV")[2] == [["1", "2"], ["3", None], ["4", "5"], ["7", "8"], ["9", None]]


def test_numbers_kept_as_texts_are_those_postgresql_reads_as_python_does():
    assert readers.column_converter("int", texts=True)(["12", "", None, "-0"]) == ["12", None, None, "-0"]
    assert readers.column_converter("int", texts=True)(["", None]) == [None, None]
    assert readers.column_converter("int", texts=True)(["7", "0", "-3"]) == ["7", "0", "-3"]
    numbers = readers.column_converter("numeric", texts=True)
    assert numbers(["1.50", "", "-7", None]) == ["1.50", None, "-7", None]
    assert numbers(["1.50", "1e-400"]) == [1.5, 0.0]  # an exponent: the column is converted
    assert numbers(["0." + "0" * 300 + "1"]) == [float("1e-301")]  # a fraction that long, too
