"""Markdown rendering for campaign bodies and talking points: rendered, then sanitised."""

from functools import lru_cache

import markdown
import nh3

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "abbr": {"title"}}


@lru_cache(maxsize=64)  # a fan-out renders the same body for thousands of e-mails
def render_markdown(text: str) -> str:
    """Return safe HTML for `text`; scripts, event handlers and `javascript:` links are dropped."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"])
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
