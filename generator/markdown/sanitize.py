"""What agent text may keep once rendered: safe markup stays, every other tag shows as text.

Agent files are untrusted. nh3 (the Ammonia sanitizer) removes what could run or load
code; before it runs, any tag outside the allowed set is escaped, so `<iframe>`,
`<script>` or `Map<String, Integer>` read as text instead of vanishing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3
from pygments.token import STANDARD_TYPES

from generator.markdown.links import LinkContext, is_relative_link, resolve_link

HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
CODE_CSS_CLASS = "highlight"
# Ids the page templates use; text may not take them.
RESERVED_IDS = frozenset({"ap-main", "ap-examples", "ap-expertise", "ap-contents", "ap-install", "ap-search", "ap-announcer"})
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_IMAGE_WITHOUT_SOURCE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_ALT = re.compile(r'\salt="([^"]*)"')
# C0 and C1 controls but tab and line breaks, lone surrogates, and the noncharacters XML refuses.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Landmarks belong to the page around the agent, not to its text.
_LANDMARK_TAGS = {"nav", "header", "footer", "aside", "article"}

# The attributes each kept tag may carry; any other attribute is dropped.
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: {"id"} for tag in HEADING_TAGS},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},

    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "input": {"type", "checked", "disabled"},
}
# Classes text may carry: Pygments' token classes and the code block wrapper, never the
# site's own (an agent could otherwise draw a fake install box or "verified" badge).
_ALLOWED_CLASSES = {
    "span": {name for name in STANDARD_TYPES.values() if name},
    "div": {CODE_CSS_CLASS},
}
# The tags agent text may use; any other tag is shown as text.
ALLOWED_TAGS = frozenset((set(nh3.ALLOWED_TAGS) | {"input", "details", "summary"}) - _LANDMARK_TAGS)


def remove_control_characters(text: str) -> str:
    """Drop control characters (ESC, BEL, NUL…) but tab and line breaks: they are not text.

    Lone surrogates and U+FFFE/U+FFFF go too: XML (the feed, the sitemap) cannot hold them.
    """
    return _CONTROL_CHARACTERS.sub("", text)


def escape_unknown_tags(html: str) -> str:
    """Show every tag we do not keep (`<script>`, `<iframe>`, `Map<String>`…) as text, not drop it."""
    return _TAG_START.sub(_escape_if_unknown, html)


def _escape_if_unknown(match: re.Match[str]) -> str:
    if match.group(2).lower() in ALLOWED_TAGS:
        return match.group(0)
    return "&lt;" + match.group(1) + match.group(2)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Keep task-list checkboxes inert, headings off the ids the page itself uses, and images to
    the site's own: the Content-Security-Policy blocks any other, so one from another host (a
    README's badge) shows its alt text instead of a broken image."""
    if tag == "img" and attribute == "src" and not is_relative_link(value):
        return None
    if tag == "input" and attribute == "type":
        return "checkbox"
    if attribute == "id" and value in RESERVED_IDS:
        return None
    return value


def _resolving_links(links: LinkContext) -> Callable[[str, str, str], str | None]:
    """Return an attribute filter that also points relative links at agent pages (see links.py)."""

    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src") and is_relative_link(value):
            return resolve_link(value, links) if tag == "a" else None
        return _filter_attribute(tag, attribute, value)

    return filter_attribute


def sanitize_html(html: str, links: LinkContext | None = None) -> str:
    """Keep safe markup only, other tags as text: no scripts, handlers, styles or dangerous URLs.

    With `links`, relative links lead to agent pages or lose their address, and images
    with a relative source show their alt text.
    """
    cleaned = nh3.clean(
        escape_unknown_tags(html),
        tags=set(ALLOWED_TAGS),
        attributes=_ALLOWED_ATTRIBUTES,
        allowed_classes=_ALLOWED_CLASSES,
        attribute_filter=_filter_attribute if links is None else _resolving_links(links),
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return _IMAGE_WITHOUT_SOURCE.sub(_alt_text, cleaned) if "<img" in cleaned else cleaned


def _alt_text(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(0))
    return alt.group(1) if alt else ""
