"""Mask personal data in previews: mobile numbers, resident ID numbers, and columns about a person.

Pure functions over strings. Two kinds of rule work together:

- value patterns, applied to every cell: a mainland mobile number (1[3-9] and 9 more digits, also inside text)
  keeps its first 3 and last 4 digits; an 18-digit resident ID number keeps its first 6 and last 4 characters.
  Digits right before or after a match stop it, so an 18-digit ID never looks like a phone number and a
  longer number (an amount, an 编号) never matches.
- header rules, applied to whole columns whose header names a person's name, ID number, phone or address.
  A header names a *person's* name only through 姓名, 名字 or a word for a person (联系人, 负责人 …);
  名称 (单位名称, 站点名称, 企业名称) names a thing, so such columns are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NAME = "name"
ID_NUMBER = "id_number"
PHONE = "phone"
ADDRESS = "address"

MASK = "*"

MOBILE = re.compile(r"(?:(?<=\+86)|(?<=\+86 )|(?<!\d))(1[3-9]\d)([ -]?)(\d{4})([ -]?)(\d{4})(?!\d)")
RESIDENT_ID = re.compile(
    r"(?<!\d)([1-9]\d{5})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3}[\dXx])(?![\dXx])"
)
_NUMBER_RUN = re.compile(r"\+?\d[\d\- ]*\d")

# Checked in this order: 联系人电话 is a phone, 身份证住址 an address, 证件号码 an ID number.
_CHINESE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (PHONE, ("电话", "手机", "联系方式", "移动号码", "联系号码")),
    (ADDRESS, ("地址", "住址", "住所", "居住地", "户籍地")),
    (ID_NUMBER, ("身份证", "证件号", "身份号码", "护照号")),
    (
        NAME,
        ("姓名", "名字", "联系人", "负责人", "法定代表人", "法人代表", "户主", "监护人", "申请人", "经办人"),
    ),
)
_ENGLISH_RULES: tuple[tuple[str, frozenset[str], frozenset[tuple[str, ...]]], ...] = (
    (
        PHONE,
        frozenset({"phone", "mobile", "tel", "telephone", "cellphone", "cell"}),
        frozenset({("contact", "number"), ("contact", "no")}),
    ),
    (ADDRESS, frozenset({"address", "addr"}), frozenset({("home", "street")})),
    (
        ID_NUMBER,
        frozenset({"idcard", "passport", "ssn"}),
        frozenset({("id", "card"), ("id", "number"), ("id", "no"), ("national", "id"), ("identity", "card")}),
    ),
)
# An address of a web page or a device, not of a person.
_NOT_A_PLACE = ("网站", "网页", "网址", "链接", "邮箱", "邮件", "IP", "MAC", "URL")
_NOT_A_PLACE_WORDS = frozenset({"ip", "mac", "email", "mail", "web", "url", "website"})
_PERSON_WORDS = frozenset(
    {"full", "first", "last", "given", "family", "person", "contact", "owner", "applicant"}
)


def _words(header: str) -> list[str]:
    """Split an English header into lower-case words: "contactPhone" and "contact_phone" both give two."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", header)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def column_kind(header: str) -> str | None:
    """Return which kind of personal data a column holds, judged by its header, or None."""
    text = header.strip()
    words = _words(text)
    for kind, keywords in _CHINESE_RULES:
        if any(keyword in text for keyword in keywords):
            return None if kind == ADDRESS and _names_no_place(text, words) else kind
    pairs = set(zip(words, words[1:], strict=False))
    for kind, singles, doubles in _ENGLISH_RULES:
        if singles & set(words) or doubles & pairs:
            return None if kind == ADDRESS and _names_no_place(text, words) else kind
    if words in (["name"], ["surname"], ["fullname"], ["contact"]) or (
        len(words) >= 2 and words[-1] == "name" and words[-2] in _PERSON_WORDS
    ):
        return NAME
    return None


def _names_no_place(text: str, words: list[str]) -> bool:
    return any(w in text.upper() for w in _NOT_A_PLACE) or bool(_NOT_A_PLACE_WORDS & set(words))


def mask_text(text: str) -> str:
    """Mask every mobile number and resident ID number inside `text`."""
    text = RESIDENT_ID.sub(lambda m: m[1] + MASK * 8 + m[3], text)
    return MOBILE.sub(lambda m: m[1] + m[2] + MASK * 4 + m[4] + m[5], text)


def mask_name(value: str) -> str:
    """Keep a name's first character: 张三丰 → 张**."""
    value = value.strip()
    if len(value) <= 1:
        return MASK * len(value)
    return value[0] + "".join(ch if ch.isspace() else MASK for ch in value[1:])


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters of an ID number, less of a short one."""
    value = value.strip()
    if len(value) >= 14:
        return value[:6] + MASK * (len(value) - 10) + value[-4:]
    if len(value) > 2:
        return value[0] + MASK * (len(value) - 2) + value[-1]
    return MASK * len(value)


def mask_phone(value: str) -> str:
    """Mask each number in a phone cell, keeping its last 4 digits (and the first 3 of a long one).

    Numbers of fewer than 7 digits (12345-style hotlines) are public and stay.
    """

    def hide(match: re.Match[str]) -> str:
        run = match[0]
        digits = sum(ch.isdigit() for ch in run)
        if digits < 7:
            return run
        keep_head = 3 if digits >= 11 else 0
        out, seen = [], 0
        for ch in run:
            if ch.isdigit():
                seen += 1
                ch = ch if seen <= keep_head or seen > digits - 4 else MASK
            out.append(ch)
        return "".join(out)

    return _NUMBER_RUN.sub(hide, value)


def mask_address(value: str) -> str:
    """Keep an address down to its township (街道, 镇, 乡) and hide the rest.

    Without a township, keep the district or city, else the first two characters.
    """
    value = value.strip()
    if not value:
        return value
    for pattern in (r"^.{0,20}?(?:街道|镇|乡)", r"^.{0,15}?(?:区|县)", r"^.{0,10}?市"):
        match = re.match(pattern, value)
        if match and len(match[0]) < len(value):
            return match[0] + MASK * 4
    return value[:2] + MASK * 4 if len(value) > 2 else MASK * 4


_COLUMN_MASKS = {NAME: mask_name, ID_NUMBER: mask_id_number, PHONE: mask_phone, ADDRESS: mask_address}


def mask_cell(value: str, kind: str | None) -> str:
    """Mask one cell of a column of `kind` (None: an ordinary column), then any pattern left in it."""
    if kind is not None and value.strip():
        value = _COLUMN_MASKS[kind](value)
    return mask_text(value)


def column_kinds(header: Sequence[str]) -> list[str | None]:
    """Return `column_kind` of each header."""
    return [column_kind(h) for h in header]


def mask_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """Mask a table of strings by its header rules and the value patterns."""
    kinds = column_kinds(header)
    width = len(kinds)
    return [[mask_cell(cell, kinds[i] if i < width else None) for i, cell in enumerate(row)] for row in rows]
