"""Every page a demo user reaches from the home page reads in words: no Python reprs, raw
timestamps, enum values or escaped unicode, on the HTML pages and in the PDFs they link to."""

import enum
import functools
import io
import re
from collections import Counter, deque
from html import unescape
from html.parser import HTMLParser
from importlib import import_module
from io import StringIO
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from pypdf import PdfReader

from demo.loader import USERS
from gates.evaluation import Result
from metrics.models import Comparator
from projects.models import ChecklistItem
from projects.services import checklist_item_set_done

pytestmark = pytest.mark.django_db
User = get_user_model()

# Not pages for people: the admin has its own words, the API is for machines, logging out ends
# the crawl, and the CSV, JSON and Markdown downloads are data (the PDFs are read).
SKIPPED_PREFIXES = ("/admin/", "/api/", "/logout/", "/static/", "/media/")
SKIPPED_SUFFIXES = (".csv", ".json", ".md")
# Pages of one kind (the same path but for its ids, the same query keys) read alike; the first
# few of each are enough, and keep the crawl of seven users within a minute.
PER_KIND = 1

REPR = re.compile(r"\{'|<[\w.]+ object at|datetime\.")
ISO_WITH_MICROSECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+")
ESCAPED_UNICODE = re.compile(r"u00[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}")
# A timedelta as Python writes it: "1 day, 0:00:00", or "0:05:00" alone in a field.
DURATION_REPR = re.compile(r"\d+ days?, \d+:\d\d:\d\d|^\d+:\d\d:\d\d$", re.MULTILINE)
# Fields whose value a reader sees, as text.
SHOWN_INPUTS = {"text", "number", "search", "email", "url", None}


@functools.cache
def enum_values() -> set[str]:
    """Every value of the site's enums that is no word: not_met, on_target, lt, gte."""
    import_module(settings.ROOT_URLCONF)  # every view, and so every enum, is imported
    ours = {
        config.name
        for config in apps.get_app_configs()
        if config.path.startswith(str(settings.BASE_DIR))
    }
    found, classes = set(), [enum.Enum]
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        if cls.__module__.split(".")[0] in ours:
            found |= {member.value for member in cls if isinstance(member.value, str)}
    return {value for value in found if "_" in value} | {
        value for value in Comparator.values if value != Comparator.BETWEEN
    }


@functools.cache
def enum_value_pattern() -> re.Pattern:
    values = sorted(enum_values(), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(values) + r")(?![\w-])")


class PageText(HTMLParser):
    """The text a reader sees (no tags, attributes, scripts or styles), and the page's links.
    What sits inside <details class="technical"> is kept apart: it is raw by design."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.technical: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        self._technical = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag == "details" and (
            self._technical or "technical" in (attributes.get("class") or "").split()
        ):
            self._technical += 1
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "input" and attributes.get("type") in SHOWN_INPUTS and attributes.get("value"):
            self.handle_data(f"\n{attributes['value']}\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1
        if tag == "details" and self._technical:
            self._technical -= 1

    def handle_data(self, data):
        if not self._hidden:
            (self.technical if self._technical else self.text).append(data)


def _kind(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def crawl(client, pdf_texts: dict[str, str]) -> dict[str, tuple[str, str]]:
    """The pages reachable from the home page by GET: {url: (visible text, technical text)}.
    A PDF reads the same whoever opens it: one read already (in `pdf_texts`) is not again."""
    seen, pages, kinds = {"/"}, {}, Counter()
    queue = deque(["/"])
    while queue:
        url = queue.popleft()
        if url in pdf_texts:
            pages[url] = (pdf_texts[url], "")
            continue
        response = client.get(url)
        kind = response.get("Content-Type", "").split(";")[0]
        if response.status_code != 200:
            continue
        if kind == "application/pdf":
            reader = PdfReader(io.BytesIO(response.content))
            pdf_texts[url] = "\n".join(page.extract_text() for page in reader.pages)
            pages[url] = (pdf_texts[url], "")
            continue
        if kind != "text/html":
            continue
        parser = PageText()
        parser.feed(response.content.decode())
        pages[url] = (unescape(" ".join(parser.text)), unescape(" ".join(parser.technical)))
        for href in parser.links:
            link = urlsplit(urldefrag(urljoin(url, href)).url)
            if link.scheme not in ("", "http") or link.netloc not in ("", "testserver"):
                continue
            target = link.path + (f"?{link.query}" if link.query else "")
            if (
                target in seen
                or link.path.startswith(SKIPPED_PREFIXES)
                or link.path.endswith(SKIPPED_SUFFIXES)
            ):
                continue
            seen.add(target)
            kinds[_kind(link.path)] += 1
            if kinds[_kind(link.path)] <= PER_KIND:
                queue.append(target)
    return pages


def internals(text: str, *, technical: str = "") -> list[str]:
    """What in `text` is not written for people, each as it appears. Technical details may
    hold raw values and names, but never reprs or escaped characters."""
    found = []
    for pattern in (REPR, ESCAPED_UNICODE):
        found += pattern.findall(f"{text} {technical}")
    for pattern in (ISO_WITH_MICROSECONDS, DURATION_REPR, enum_value_pattern()):
        found += pattern.findall(text)
    return found


def test_every_page_each_demo_user_reaches_reads_in_words(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
        # A day's use after loading: the project manager ticks off a checklist item.
        item = ChecklistItem.objects.filter(done=False, phase__project__code="AAD").first()
        checklist_item_set_done(item=item, done=True, by=User.objects.get(username="pm"))
    problems, reached, pdf_texts = {}, set(), {}
    for username in sorted(USERS):
        client.force_login(User.objects.get(username=username))
        pages = crawl(client, pdf_texts)
        assert "/" in pages, username
        reached |= set(pages)
        for url, (text, technical) in pages.items():
            if found := internals(text, technical=technical):
                problems[f"{username} {url}"] = sorted(set(found))
    assert problems == {}
    assert any(re.fullmatch(r"/gates/\d+/record\.pdf", url) for url in reached)
    assert any(re.fullmatch(r"/projects/\d+/report\.pdf", url) for url in reached)
    assert any(re.fullmatch(r"/programmes/[\w-]+/report\.pdf", url) for url in reached)
    assert any(re.fullmatch(r"/kpis/\d+/(edit|source)/", url) for url in reached)
    assert any(re.fullmatch(r"/projects/\d+/history/", url) for url in reached)


def test_the_checks_catch_what_people_were_shown():
    shown = (
        "{'state': 'open'} 2026-12-03T07:28:31.893546+00:00 not_met PROVIDERu002DAPI "
        "<gates.models.Gate object at 0x7f> datetime.timedelta(days=1) lt 0.0100 %"
        " every 1 day, 0:00:00\n00:05:00\n"
    )
    assert len(internals(shown)) == 9
    assert (
        internals(
            "Not met · below 1 % · 3 Dec 2026, 08:12 CET · PROVIDER-API · work_mem"
            " · measured 3 Dec 2026, 08:12:05"
        )
        == []
    )
    assert Result.NOT_MET in enum_values()
