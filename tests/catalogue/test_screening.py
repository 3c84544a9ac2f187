"""What holds a dataset back at sync: unmasked names of persons, ID numbers and mobile numbers in a sample
(catalogue/screening.py), judged by the preview's masking rules. Pure: no app, no database."""

from __future__ import annotations

import pytest

from portal.catalogue import screening

HEADER = ["单位名称", "联系人", "身份证号码", "联系电话", "备注"]


def test_unmasked_name_id_and_mobile_columns_are_found_with_masked_samples():
    rows = [
        ["南湖区卫生院", "张三丰", "330402199001011234", "13812345678", ""],
        ["秀洲区卫生院", "李四", "33041119850203123X", "0573-82345678", ""],
    ]
    found = screening.find_personal_data(HEADER, rows)
    assert [(f.column, f.rule, f.rows) for f in found] == [
        ("联系人", screening.HEADER_NAME, 2),
        ("身份证号码", screening.HEADER_ID, 2),
        ("联系电话", screening.HEADER_PHONE, 1),  # a landline is not a person's mobile
    ]
    samples = {f.column: f.sample for f in found}
    assert samples == {"联系人": "张**", "身份证号码": "330402********1234", "联系电话": "138****5678"}
    for f in found:  # never the value itself
        assert "199001011234" not in f.sample and "三丰" not in f.sample and "1234567" not in f.sample


def test_already_masked_columns_hold_nothing():
    rows = [
        ["南湖区卫生院", "张*", "330402********1234", "138****5678", ""],
        ["秀洲区卫生院", "李**", "330411********123X", "12345", ""],  # a hotline
        ["海宁市卫生院", "", "", "0573-8*****78", "无"],
    ]
    assert screening.find_personal_data(HEADER, rows) == []


def test_a_thing_named_by_名称_is_not_a_person():
    assert screening.find_personal_data(["单位名称", "站点名称"], [["嘉兴市图书馆", "南湖站"]]) == []


@pytest.mark.parametrize(
    "cell, rule",
    [
        ("身份证330402199001011234已登记", screening.VALUE_ID),
        ("请联系 138 1234 5678", screening.VALUE_MOBILE),
        ("+8613812345678", screening.VALUE_MOBILE),
    ],
)
def test_personal_numbers_in_any_column_are_found_by_the_value_patterns(cell, rule):
    found = screening.find_personal_data(["备注"], [[cell]])
    assert [(f.column, f.rule) for f in found] == [("备注", rule)]
    assert (
        "****" in found[0].sample and "1234 5678" not in found[0].sample and "12345678" not in found[0].sample
    )


@pytest.mark.parametrize("cell", ["20231234567890", "金额 1381234567800 元", "编号 3304021990010112345"])
def test_longer_numbers_are_not_personal(cell):
    assert screening.find_personal_data(["备注"], [[cell]]) == []


@pytest.mark.parametrize("placeholder", ["无", "暂无", "-", "N/A", "  "])
def test_placeholders_in_a_name_column_are_not_names(placeholder):
    assert screening.find_personal_data(["姓名"], [[placeholder]]) == []


def test_cells_of_any_type_and_ragged_rows_are_read():
    rows = [[None, 13812345678], ["王五"], [1, 2, 3, 4]]  # numbers from XLSX or JSON, short and long rows
    found = screening.find_personal_data(["姓名", "mobile"], rows)
    assert [(f.column, f.rule, f.rows) for f in found] == [
        ("姓名", screening.HEADER_NAME, 1),
        ("mobile", screening.HEADER_PHONE, 1),
    ]


def test_datastore_records_become_rows_in_field_order():
    records = [{"姓名": "赵六", "_id": 1}, {"_id": 2}]
    assert list(screening.as_rows(["姓名"], records)) == [["赵六"], [None]]


def test_nul_characters_are_dropped_from_what_a_finding_keeps():
    """PostgreSQL keeps no NUL in text or JSON; a hostile file must not make a finding unstorable."""
    found = screening.find_personal_data(["姓名\x00", "备注"], [["张三丰", "电话13812345678\x00"]])
    assert [(f.column, f.sample) for f in found] == [("姓名", "张**"), ("备注", "电话138****5678")]
