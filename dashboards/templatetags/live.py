"""`{% live %}…{% endlive %}`: a fragment of a status page that refreshes itself.

The tag fingerprints what it renders and writes the fingerprint into the fragment's first
element (`data-live-fp`). A page's poller sends back the fingerprints it holds; rendered for
that poll (`live_mode` = "oob"), a fragment whose fingerprint is unchanged renders nothing and
a changed one renders as an out-of-band swap, so only what changed is replaced.

`{% live key=row.fingerprint %}` also keeps the rendered fragment in the "fragments" cache
under that key: a digest of everything the fragment shows, so a changed fact is a new key and
nothing needs invalidating. The key covers the fragment's own template text, the language and
the time zone too; a fragment rendered this way must not `{% include %}` other templates.
"""

import hashlib
import re

from django import template
from django.core.cache import caches
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

register = template.Library()

FIRST_TAG = re.compile(r"\s*<[a-zA-Z][\w-]*")
ELEMENT_ID = re.compile(r'\bid="([^"]+)"')


def fingerprint(text: str) -> str:
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


class LiveNode(template.Node):
    def __init__(self, nodelist, key=None, source_digest=""):
        self.nodelist = nodelist
        self.key = key
        self.source_digest = source_digest

    def _rendered(self, context) -> str:
        if self.key is None:
            return self.nodelist.render(context).strip()
        cache_key = ":".join(
            [
                "live",
                self.source_digest,
                translation.get_language() or "",
                timezone.get_current_timezone_name(),
                str(self.key.resolve(context)),
            ]
        )
        fragments = caches["fragments"]
        html = fragments.get(cache_key)
        if html is None:
            html = self.nodelist.render(context).strip()
            fragments.set(cache_key, html)
        return html

    def render(self, context) -> str:
        html = self._rendered(context)
        opening = FIRST_TAG.match(html)
        if not opening:
            raise template.TemplateSyntaxError("{% live %} must wrap one element.")
        digest = fingerprint(html)
        attributes = f' data-live-fp="{digest}"'
        if context.get("live_mode") == "oob":
            element_id = ELEMENT_ID.search(html[: html.find(">")])
            known = context.get("live_known") or {}
            if element_id and known.get(element_id.group(1)) == digest:
                return ""
            attributes += ' hx-swap-oob="true"'
        end = opening.end()
        # A rendered (escaped) template with two attributes of our own added to its first tag.
        return mark_safe(html[:end] + attributes + html[end:])  # noqa: S308  # nosec B308 B703


@register.tag("live")
def live(parser, token):
    bits = token.split_contents()[1:]
    key = None
    if bits:
        if len(bits) != 1 or not bits[0].startswith("key="):
            raise template.TemplateSyntaxError("{% live %} takes nothing or key=<expression>.")
        key = parser.compile_filter(bits[0].removeprefix("key="))
    before = list(parser.tokens)  # the parser's tokens, reversed: the next one is last
    nodelist = parser.parse(("endlive",))
    inner = reversed(before[len(parser.tokens) :])  # parse() put {% endlive %} back
    source = "\x1f".join(token.contents for token in inner)
    parser.delete_first_token()
    return LiveNode(nodelist, key=key, source_digest=fingerprint(source))
