"""Turn text into search terms, and mark the matched terms in text for display.

Pure functions: no app, no database. Chinese has no spaces between words, so runs of
CJK characters are indexed as overlapping character bigrams (交通运输 → 交通 通运 运输)
followed by the run's last character on its own (输); other text is indexed as whole
ASCII words, lower-cased after NFKC folding (so full-width ＣＳＶ is csv).

A query is cut the same way into units, all of which must match (AND):
- an ASCII word matches that whole word;
- a CJK run of two or more characters matches its bigrams as a phrase, that is
  consecutively, so 交通运输 finds only text containing 交通运输, and 交通 finds 交通运输;
- a single CJK character matches as a prefix: every character of indexed text starts
  a bigram or ends its run (the trailing unigram), so the prefix 交* finds exactly the
  texts that contain 交, wherever it stands.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

# Han ideographs (with extension A, compatibility and the supplementary planes) and kana:
# scripts written without spaces between words.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN = re.compile(f"([{CJK}]+)|([0-9a-z]+)")
MAX_WORD = 40  # longer ASCII runs (hashes, base64) are noise, and PostgreSQL refuses huge lexemes
MAX_UNITS = 12  # a query of more units is cut: each costs an index lookup
WORD, PHRASE, CHARACTER = "word", "phrase", "character"


@dataclass(frozen=True)
class Unit:
    """One piece of a query: an ASCII word, a CJK run (a phrase of bigrams) or one CJK character."""

    kind: str
    text: str
    terms: tuple[str, ...]


def normalise(text: str) -> str:
    """Fold full-width forms and compatibility characters, and lower-case."""
    return unicodedata.normalize("NFKC", text).lower()


def _bigrams(run: str) -> list[str]:
    return list(map(operator.add, run, run[1:]))


def index_terms(text: str) -> list[str]:
    """Return the terms of `text` in order: bigrams plus a trailing unigram per CJK run, ASCII words."""
    terms: list[str] = []
    for run, word in _TOKEN.findall(normalise(text)):  # the sync's hot path: kept lean
        if word:
            if len(word) <= MAX_WORD:
                terms.append(word)
        else:
            terms.extend(map(operator.add, run, run[1:]))
            terms.append(run[-1])
    return terms


def terms_text(*texts: str) -> str:
    """Return the terms of several texts as one space-separated string, as the index stores them."""
    return " ".join(index_terms("\n".join(texts)))  # a line break separates, as any non-word does


def dataset_terms(
    *,
    title: str,
    name: str = "",
    notes: str = "",
    department: str = "",
    themes: list[str] | tuple[str, ...] = (),
    tags: list[str] | tuple[str, ...] = (),
    extras: dict | None = None,
) -> tuple[str, str, str]:
    """Return the title, tag and body terms of a dataset; the body holds its other text."""
    values = [str(v) for v in (extras or {}).values() if v is not None]
    body = terms_text(notes or "", department or "", *themes, *values, name)
    return terms_text(title), terms_text(*tags), body


def query_units(q: str) -> list[Unit]:
    """Cut a free-text query into distinct units, at most MAX_UNITS; any character is harmless."""
    units: list[Unit] = []
    for run, word in _TOKEN.findall(normalise(q)):
        if word:
            unit = Unit(WORD, word[:MAX_WORD], (word[:MAX_WORD],))
        elif len(run) == 1:
            unit = Unit(CHARACTER, run, (run,))
        else:
            unit = Unit(PHRASE, run, tuple(_bigrams(run)))
        if unit not in units:
            units.append(unit)
    return units[:MAX_UNITS]


def fts5_query(units: list[Unit], columns: tuple[str, ...] = ()) -> str:
    """Return an SQLite FTS5 MATCH expression, limited to `columns` when given.

    Terms hold only [0-9a-z] and CJK characters, so quoting them is safe.
    """
    parts = []
    for unit in units:
        if unit.kind == CHARACTER:
            parts.append(f'"{unit.text}"*')
        else:
            parts.append('"' + " ".join(unit.terms) + '"')
    expression = " AND ".join(parts)
    return "{" + " ".join(columns) + "} : (" + expression + ")" if columns else expression


def tsquery(units: list[Unit], weights: str = "") -> str:
    """Return a PostgreSQL tsquery literal (read as-is, no parser involved), limited to `weights`."""
    parts = []
    for unit in units:
        if unit.kind == CHARACTER:
            parts.append(f"'{unit.text}':*{weights}")
        else:
            label = f":{weights}" if weights else ""
            parts.append("(" + " <-> ".join(f"'{t}'{label}" for t in unit.terms) + ")")
    return " & ".join(parts)


_markdown = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# Only the words are kept, never a link, so every link and image is parsed as one, whatever its
# scheme: markdown-it would leave `[x](javascript:…)` as literal text, and the snippet would show it.
_markdown.validateLink = lambda url: True


def _words(children, pieces: list[str]) -> None:
    for child in children or []:
        if child.type in ("text", "code_inline"):
            pieces.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            pieces.append(" ")
        _words(child.children, pieces)  # an image's alt text


# What can make Markdown more than its words: a markup character anywhere (a NUL, which the parser
# replaces), or a line that starts a list, a heading's underline or a thematic break. Text without
# any reads as itself, once its white space is folded: every result card's snippet is made of it.
_MARKUP = re.compile(r"[\\`*_\[\]<>&|~#!\x00]|(?:^|(?<=\r))[ \t]*(?:[-+=]|\d+[.)])", re.MULTILINE)


def plain_text(markdown: str) -> str:
    """Return the words of a Markdown text without its markup (links and images keep their text,
    never their address); raw HTML in it is dropped."""
    if not _MARKUP.search(markdown or ""):  # parsing it would change nothing but cost the most
        return re.sub(r"\s+", " ", markdown or "").strip()
    return _parsed_text(markdown)


def _parsed_text(markdown: str) -> str:
    pieces: list[str] = []
    for token in _markdown.parse(markdown or ""):
        _words(token.children, pieces)
        if token.type in ("code_block", "fence"):
            pieces.append(token.content)
        if token.block and token.nesting <= 0:
            pieces.append(" ")
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def _patterns(units: list[Unit]) -> list[re.Pattern]:
    """What to mark: ASCII words whole; each bigram of a CJK run (so its parts found in text show)."""
    patterns = []
    for unit in units:
        if unit.kind == WORD:
            patterns.append(re.compile(rf"(?<![0-9a-z]){re.escape(unit.text)}(?![0-9a-z])", re.I))
        else:
            patterns.extend(re.compile(re.escape(t)) for t in unit.terms)
    return patterns


def _spans(text: str, units: list[Unit]) -> list[tuple[int, int]]:
    """Return the merged (start, end) spans of `text` that match a unit."""
    found = sorted(m.span() for p in _patterns(units) for m in p.finditer(text) if m.end() > m.start())
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, units: list[Unit]) -> Markup:
    """Return `text` escaped, with <mark> around what the query matched.

    The text is cut at the matched spans and each piece is escaped on its own, so
    markup is only ever added around escaped text, never built from raw text.
    """
    out, last = [], 0
    for start, end in _spans(text, units):
        out += (escape(text[last:start]), "<mark>", escape(text[start:end]), "</mark>")
        last = end
    out.append(escape(text[last:]))
    return Markup("".join(out))


def snippet(text: str, units: list[Unit], width: int = 120) -> Markup:
    """Return about `width` characters of `text` around its first match, highlighted and escaped."""
    spans = _spans(text, units)
    start = max(0, spans[0][0] - width // 4) if spans else 0
    start = max(0, min(start, len(text) - width))
    end = min(len(text), start + width)
    piece = highlight(text[start:end], units)
    return (Markup("…") if start else Markup("")) + piece + (Markup("…") if end < len(text) else Markup(""))
