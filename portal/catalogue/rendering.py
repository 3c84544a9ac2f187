"""Turn untrusted CKAN text into safe HTML: Markdown through markdown-it-py, then nh3's allow-list.

Everything from CKAN is untrusted. Markdown is parsed with raw HTML disabled, so typed tags come out as
text; nh3 then keeps only the tags below and only http, https and mailto links, each with
rel="nofollow noopener". Plain fields (titles, tags, extras) are escaped by Jinja; links the portal builds
from CKAN URLs go through `safe_url` first.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {"p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"

_WEB_URL = re.compile(r"https?://[^\s\x00-\x1f]+", re.IGNORECASE)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )
    # Remote images would break the CSP and could track readers: show an image as a link to it.
    md.add_render_rule("image", _image_as_link)
    return md


def _image_as_link(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = self.renderInline(token.children or [], options, env) or token.attrGet("src") or ""
    src = token.attrGet("src") or ""
    return f'<a href="{Markup.escape(src)}">{alt}</a>'


_MD = _markdown()
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(LINK_SCHEMES),
    link_rel=LINK_REL,
    url_relative="deny",
)


def markdown_to_html(text: str | None) -> Markup:
    """Render CKAN Markdown as sanitised HTML, safe to put in a page as it is."""
    if not text:
        return Markup("")
    if _PLAIN.fullmatch(text) and text == text.strip():  # one paragraph of plain words: most descriptions
        return Markup(_CLEANER.clean(f"<p>{text}</p>\n"))
    return Markup(_CLEANER.clean(_MD.render(text)))


# A text Markdown leaves as it is (one paragraph, nothing to escape) has no ASCII punctuation, no line
# break and no control character; Markdown drops its blanks at both ends, which the caller tests (str.strip
# drops the same). Such a text is written without the parser: some 180 Python calls a page (issue 20).
_PLAIN = re.compile(r"[^\x00-\x1f!-/:-@\[-`{-\x9f]+")


def safe_url(url: str | None) -> str | None:
    """Return the URL when it is a plain http(s) address, else None (show it as text, not a link).

    The test is on the text as given, so `JaVaScRiPt:`, `java\\tscript:` and leading spaces all fail.
    """
    if not url or not isinstance(url, str):
        return None
    return _safe_url(url)


@functools.lru_cache(maxsize=1024)  # a page asks for its licence's, source's and resources' addresses
def _safe_url(url: str) -> str | None:
    candidate = url.strip()
    if not _WEB_URL.fullmatch(candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    return candidate if parts.scheme.lower() in ("http", "https") and parts.hostname else None
