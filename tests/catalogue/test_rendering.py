"""CKAN Markdown rendered as safe HTML (catalogue/rendering.py): a plain text is written without the
parser, exactly as the parser and the cleaner write it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from portal.catalogue import rendering

# CJK text, full-width punctuation and blanks of every kind: what the shortcut takes, and where it must stop
PLAIN = list("数据集由桐乡市教育局提供，。：（）、“”＊①") + list("abcXYZ019 ")
PLAIN += ["\u3000", "\xa0", "\u2028", "\x85", "\u200b", "\ufeff"]
# line breaks, controls, entities and Markdown's own marks: what it leaves to the parser
MARKED = ["\t", "\n", "\r", "\x00", "\x0b", "\x7f", *"*_#>-+.!`[]()<>&;|~=:\\/\"'", "&amp;", "1. ", "    "]
TEXTS = st.one_of(
    st.lists(st.sampled_from(PLAIN), max_size=12),
    st.lists(st.sampled_from(PLAIN + MARKED), max_size=12),
).map("".join)


def parsed(text: str) -> Markup:
    """What the parser and the cleaner write, the plain texts' shortcut left aside."""
    return Markup(rendering._CLEANER.clean(rendering._MD.render(text))) if text else Markup("")


@settings(max_examples=1500, database=None, deadline=None)
@given(TEXTS)
def test_a_plain_text_is_written_as_the_parser_writes_it(text):
    assert rendering.markdown_to_html(text) == parsed(text)


def test_descriptions_without_markdown_skip_the_parser(monkeypatch):
    texts = ["本数据集由桐乡市教育局提供，包含站点名称等信息。", "数据每月更新 开放方式：无条件开放"]
    texts.append("公交站点\xa0数据")
    written = [parsed(text) for text in texts]
    monkeypatch.setattr(rendering, "_MD", None)  # a parse would fail
    assert [rendering.markdown_to_html(text) for text in texts] == written
    assert written[2] == Markup("<p>公交站点&nbsp;数据</p>\n")
