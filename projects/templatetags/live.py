"""`{% live %}…{% endlive %}`: a fragment of a status page that refreshes itself.

The tag fingerprints what it renders and writes the fingerprint into the fragment's first
element (`data-live-fp`). A page's poller sends back the fingerprints it holds; rendered for
that poll (`live_mode` = "oob"), a fragment whose fingerprint is unchanged renders nothing and
a changed one renders as an out-of-band swap, so only what changed is replaced.
"""

import hashlib
import re

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

FIRST_TAG = re.compile(r"\s*<[a-zA-Z][\w-]*")
ELEMENT_ID = re.compile(r'\bid="([^"]+)"')


def fingerprint(text: str) -> str:
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


class LiveNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context) -> str:
        html = self.nodelist.render(context).strip()
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
        return mark_safe(html[:end] + attributes + html[end:])  # noqa: S308 (rendered template)


@register.tag("live")
def live(parser, token):
    nodelist = parser.parse(("endlive",))
    parser.delete_first_token()
    return LiveNode(nodelist)
