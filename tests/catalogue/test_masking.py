"""Masking personal data in previews: value patterns and header rules, with no app and no database."""

from __future__ import annotations

import pytest

from portal.catalogue import masking
from portal.catalogue.masking import ADDRESS, ID_NUMBER, NAME, PHONE


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13812345678", "138****5678"),
        ("19912345678", "199****5678"),
        ("联系电话：13812345678，工作日拨打", "联系电话：138****5678，工作日拨打"),
        ("138-1234-5678", "138-****-5678"),
        ("138 1234 5678", "138 **** 5678"),
        ("+8613812345678", "+86138****5678"),
        ("张三13812345678李四15900001111", "张三138****5678李四159****1111"),
    ],
)
def test_mask_text_hides_the_middle_of_mobile_numbers(text, masked):
    assert masking.mask_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("330402199001011234", "330402********1234"),
        ("33042119330919918X", "330421********918X"),
        ("33042119330919918x", "330421********918x"),
        ("身份证330402199001011234已核验", "身份证330402********1234已核验"),
    ],
)
def test_mask_text_keeps_first_six_and_last_four_of_resident_id_numbers(text, masked):
    assert masking.mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "20260100001",  # an 11-digit 编号 that does not start like a mobile number
        "10000000000",  # an amount: 1 followed by 0 is no mobile prefix
        "12812345678",  # 12x is no mobile prefix
        "138123456789",  # 12 digits: longer than a mobile number
        "9138123456789",  # a mobile-shaped run inside a longer number
        "0573-82345678",  # a landline in free text
        "91330402MA28A1234X",  # a unified social credit code
        "330402199013011234",  # 18 digits with month 13: not an ID number
        "1234567890123456789",  # 19 digits
        "3.1",
        "",
    ],
)
def test_mask_text_leaves_ordinary_numbers_alone(text):
    assert masking.mask_text(text) == text


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("姓名", NAME),
        ("名字", NAME),
        ("团队长姓名", NAME),
        ("联系人", NAME),
        ("法定代表人", NAME),
        ("身份证", ID_NUMBER),
        ("身份证号", ID_NUMBER),
        ("身份证号码", ID_NUMBER),
        ("证件号码", ID_NUMBER),
        ("电话", PHONE),
        ("联系电话", PHONE),
        ("手机号", PHONE),
        ("联系方式", PHONE),
        ("联系人电话", PHONE),  # a phone, though it names the contact person too
        ("地址", ADDRESS),
        ("家庭住址", ADDRESS),
        ("住址", ADDRESS),
        ("name", NAME),
        ("Name", NAME),
        ("full_name", NAME),
        ("contactName", NAME),
        ("phone", PHONE),
        ("Mobile", PHONE),
        ("contact_phone", PHONE),
        ("telephone", PHONE),
        ("address", ADDRESS),
        ("home_address", ADDRESS),
        ("id_card", ID_NUMBER),
        ("idCard", ID_NUMBER),
        ("ID Number", ID_NUMBER),
        ("passport", ID_NUMBER),
    ],
)
def test_column_kind_recognises_headers_about_a_person(header, kind):
    assert masking.column_kind(header) == kind


@pytest.mark.parametrize(
    "header",
    [
        "单位名称",
        "站点名称",
        "企业名称",
        "学校名称",
        "名称",
        "人口数",
        "金额",
        "发放金额（元/月）",
        "编号",
        "站点编号",
        "统一社会信用代码",
        "许可证号",
        "网站地址",
        "IP地址",
        "id",
        "station_name",
        "company_name",
        "ip_address",
        "email_address",
        "population",
        "",
    ],
)
def test_column_kind_leaves_other_headers_alone(header):
    assert masking.column_kind(header) is None


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        (NAME, "汤建华", "汤**"),
        (NAME, "黄洋", "黄*"),
        (NAME, "李", "*"),
        (NAME, "John Smith", "J*** *****"),
        (ID_NUMBER, "330482192506031114", "330482********1114"),
        (ID_NUMBER, "A1234567", "A******7"),
        (PHONE, "13541400255", "135****0255"),
        (PHONE, "0573-82345678", "057*-****5678"),
        (PHONE, "82345678", "****5678"),
        (PHONE, "12345", "12345"),  # a public hotline stays
        (ADDRESS, "嘉兴市平湖市林埭镇胜利路1242号", "嘉兴市平湖市林埭镇****"),
        (ADDRESS, "嘉兴市南湖区新兴街道花园路567号", "嘉兴市南湖区新兴街道****"),
        (ADDRESS, "嘉兴市南湖区花园路567号", "嘉兴市南湖区****"),
        (ADDRESS, "花园路567号", "花园****"),
        (NAME, "", ""),
        (PHONE, "  ", "  "),
    ],
)
def test_mask_cell_masks_a_whole_column_by_its_kind(kind, value, masked):
    assert masking.mask_cell(value, kind) == masked


def test_mask_rows_masks_personal_columns_and_patterns_but_not_ordinary_numbers():
    header = ["姓名", "单位名称", "人口数", "编号", "备注"]
    rows = [
        ["王小明", "嘉兴市南湖区人民政府", "10286000000", "20260100001", "手机13912345678"],
        ["李雷", "秀洲区王店镇中心小学", "62800", "20260100002", ""],
    ]
    assert masking.mask_rows(header, rows) == [
        ["王**", "嘉兴市南湖区人民政府", "10286000000", "20260100001", "手机139****5678"],
        ["李*", "秀洲区王店镇中心小学", "62800", "20260100002", ""],
    ]


def test_mask_rows_masks_cells_beyond_the_header_by_pattern_only():
    assert masking.mask_rows(["姓名"], [["张三", "13812345678", "李四"]]) == [["张*", "138****5678", "李四"]]
