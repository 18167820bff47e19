"""`{% cachedfragment %}`: a list row's HTML kept under a digest of its data (core/fragments.py).

    {% load fragments %}
    {% prefetchfragments "feed-card" page.items next_url %}
    {% for item in page.items %}
      {% cachedfragment "feed-card" item next_url %} … {% endcachedfragment %}
    {% endfor %}

Every argument after the name is part of the key: the row first, then whatever else of
the page the row shows. `prefetchfragments` (optional) fetches the keys of all rows in
one round trip: its arguments are the name, the rows, then the same extra parts.
"""

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.template.context import Context
from django.utils.safestring import SafeString, mark_safe

from core import fragments

register = template.Library()


def _memo[T](context: Context, name: str, kind: type[T]) -> dict[object, T]:
    """A dict that lives as long as this page's rendering (includes share the context)."""
    attribute = f"_passerelle_fragments_{name}"
    found: dict[object, T] | None = getattr(context, attribute, None)
    if found is None:
        found = {}
        setattr(context, attribute, found)
    return found


def _key(context: Context, name: str, parts: list[object]) -> str:
    """fragment_key, once per row and page: the prefetch and the row share it."""
    memo = _memo(context, "keys", str)
    identity = (name, *(id(part) for part in parts))
    key = memo.get(identity)
    if key is None:
        key = memo[identity] = fragments.fragment_key(name, parts)
    return key


def _with_reader_token(html: str, context: Context) -> SafeString:
    token = context.get("csrf_token")
    return mark_safe(  # noqa: S308 - our own rendered template, kept as it was
        html.replace(fragments.CSRF_PLACEHOLDER, str(token) if token else "")
    )


class CachedFragmentNode(template.Node):
    def __init__(
        self, nodelist: template.NodeList, name: FilterExpression, parts: list[FilterExpression]
    ) -> None:
        self.nodelist = nodelist
        self.name = name
        self.parts = parts

    def render(self, context: Context) -> str:
        name = str(self.name.resolve(context))
        key = _key(context, name, [part.resolve(context) for part in self.parts])
        html = _memo(context, "html", str).get(key)
        if html is None:
            html = fragments.get_many([key]).get(key)
        if html is None:
            with context.push(
                csrf_token=fragments.CSRF_PLACEHOLDER,
                user=fragments.ReaderGuard("user"),
                request=fragments.ReaderGuard("request"),
                csp_nonce=fragments.ReaderGuard("csp_nonce"),
                perms=fragments.ReaderGuard("perms"),
            ):
                html = self.nodelist.render(context)
            fragments.put(key, html)
        return _with_reader_token(html, context)


@register.tag
def cachedfragment(parser: Parser, token: Token) -> CachedFragmentNode:
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(
            f"{bits[0]} needs a name and at least one key part (the row)"
        )
    nodelist = parser.parse(("endcachedfragment",))
    parser.delete_first_token()
    return CachedFragmentNode(
        nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]]
    )


class PrefetchFragmentsNode(template.Node):
    def __init__(
        self, name: FilterExpression, rows: FilterExpression, parts: list[FilterExpression]
    ) -> None:
        self.name = name
        self.rows = rows
        self.parts = parts

    def render(self, context: Context) -> str:
        if not fragments.enabled():
            return ""
        name = str(self.name.resolve(context))
        extra = [part.resolve(context) for part in self.parts]
        keys = [_key(context, name, [row, *extra]) for row in self.rows.resolve(context) or ()]
        _memo(context, "html", str).update(fragments.get_many(keys))
        return ""


@register.tag
def prefetchfragments(parser: Parser, token: Token) -> PrefetchFragmentsNode:
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(f"{bits[0]} needs a name and the rows")
    return PrefetchFragmentsNode(
        parser.compile_filter(bits[1]),
        parser.compile_filter(bits[2]),
        [parser.compile_filter(b) for b in bits[3:]],
    )
