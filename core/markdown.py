"""Markdown rendering for campaign bodies and talking points: rendered, then sanitised."""

from functools import lru_cache
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}


class _ImagesAsLinks(Treeprocessor):  # type: ignore[misc]  # markdown is untyped
    """`![alt](url)` becomes a link to the image: an image loaded from the writer's host
    would tell them who opened the page or the e-mail, and when (a tracking pixel).
    Raw `<img>` tags are dropped by the sanitiser (no `img` allowed)."""

    def run(self, root: Element) -> None:
        for image in root.iter("img"):
            src = image.get("src", "")
            label = image.get("alt") or image.get("title") or src
            image.tag = "a"
            image.attrib.clear()
            image.set("href", src)
            image.text = label


class _ImagesAsLinksExtension(Extension):  # type: ignore[misc]  # markdown is untyped
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API
        md.treeprocessors.register(_ImagesAsLinks(md), "images_as_links", 0)


@lru_cache(maxsize=64)  # a fan-out renders the same body for thousands of e-mails
def render_markdown(text: str) -> str:
    """Return safe HTML for `text`; scripts, event handlers and `javascript:` links are
    dropped, and images are shown as links to them (no remote image is ever loaded)."""
    html = markdown.markdown(
        text or "", extensions=["extra", "sane_lists", _ImagesAsLinksExtension()]
    )
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
