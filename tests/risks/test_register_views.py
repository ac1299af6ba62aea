"""The register pages: as pages and as htmx fragments, filters, the heatmap, permissions."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from risks import services
from risks.models import Risk
from tests.factories import ProjectFactory, RiskFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def register(project_a):
    RiskFactory(project=project_a, key="R1", title="Data loss", likelihood=3, impact=4)
    RiskFactory(project=project_a, key="R2", title="Slow queries", likelihood=4, impact=4)
    RiskFactory(
        project=project_a,
        key="R10",
        title="Burnout",
        likelihood=3,
        impact=3,
        category="organizational",
        owner_title="Engineering Manager",
    )
    RiskFactory(
        project=project_a, key="R11", title="Closed one", likelihood=5, impact=5, status="closed"
    )
    return project_a


def rows(response) -> list[str]:
    body = response.content.decode()
    return [
        key for key in ("R1 ", "R2 ", "R10 ", "R11 ") if f"<strong>{key.strip()}</strong>" in body
    ]


def test_register_is_a_page_or_a_table_fragment(client, victor, register):
    client.force_login(victor)
    url = reverse("risk-register", args=[register.pk])
    page = client.get(url)
    fragment = client.get(url, **HTMX)
    assert "<html" in page.content.decode() and 'id="risk-heatmap"' in page.content.decode()
    assert (
        "<html" not in fragment.content.decode()
        and 'id="register-table"' in fragment.content.decode()
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["R1 ", "R2 ", "R10 ", "R11 "]),
        ({"status": "unresolved"}, ["R1 ", "R2 ", "R10 "]),
        ({"category": "organizational"}, ["R10 "]),
        ({"band": "critical"}, ["R2 ", "R11 "]),
        ({"owner": "engineering"}, ["R10 "]),
        ({"q": "slow"}, ["R2 "]),
        ({"likelihood": "3", "impact": "4"}, ["R1 "]),
    ],
)
def test_filters_narrow_the_table(client, victor, register, query, expected):
    client.force_login(victor)
    response = client.get(reverse("risk-register", args=[register.pk]), query, **HTMX)
    assert rows(response) == expected


def test_sorting_by_key_puts_r2_before_r10(client, victor, register):
    client.force_login(victor)
    body = client.get(reverse("risk-register", args=[register.pk]), {"sort": "key"}, **HTMX)
    text = body.content.decode()
    assert text.index("<strong>R2</strong>") < text.index("<strong>R10</strong>")


def test_heatmap_counts_unresolved_risks_per_cell(client, victor, register):
    client.force_login(victor)
    page = client.get(reverse("risk-register", args=[register.pk]))
    assert page.context["heatmap"].counts[2][3] == 1  # likelihood 3, impact 4
    assert page.context["heatmap"].total == 3  # the closed risk is not counted
    fragment = client.get(reverse("risk-register", args=[register.pk]), {"part": "heatmap"}, **HTMX)
    cell = reverse("risk-register", args=[register.pk]) + "?likelihood=3&amp;impact=4"
    assert 'id="risk-heatmap"' in fragment.content.decode()
    assert cell in fragment.content.decode()


def test_adding_a_risk_in_place_gives_it_the_next_key(client, bob, register):
    client.force_login(bob)
    url = reverse("risk-create", args=[register.pk])
    assert "<form" in client.get(url, **HTMX).content.decode()
    data = {
        "title": "Pool exhaustion",
        "category": "technical",
        "likelihood": 3,
        "impact": 3,
        "status": "open",
        "owner_title": "Backend Lead",
    }
    response = client.post(url, data, **HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#register-rows"
    assert "R12" in response.content.decode()
    assert Risk.objects.get(project=register, key="R12").title == "Pool exhaustion"


def test_adding_a_risk_counts_it_in_the_register_heading_under_the_page_filters(
    client, bob, register
):
    """The register said "(4 risks)" after the fifth was added: its heading is counted anew,
    under the filters of the page the risk was added from."""
    client.force_login(bob)
    url = reverse("risk-create", args=[register.pk])
    register_url = reverse("risk-register", args=[register.pk])
    data = {
        "title": "Pool exhaustion",
        "category": "technical",
        "likelihood": 3,
        "impact": 3,
        "status": "open",
        "owner_title": "Backend Lead",
    }
    plain = client.post(url, data, HTTP_HX_CURRENT_URL=f"http://testserver{register_url}", **HTMX)
    heading = re.search(r'<h2 id="register-heading"[^>]*>.*?</h2>', plain.content.decode(), re.S)
    assert 'hx-swap-oob="true"' in heading.group(0)
    assert "(5 risks)" in heading.group(0)

    filtered = client.post(
        url,
        {**data, "title": "Cache stampede", "category": "organizational"},
        HTTP_HX_CURRENT_URL=f"http://testserver{register_url}?category=organizational",
        **HTMX,
    )
    heading = re.search(r'<h2 id="register-heading"[^>]*>.*?</h2>', filtered.content.decode(), re.S)
    assert "(2 risks, filtered)" in heading.group(0)


def test_a_bad_risk_comes_back_with_its_errors(client, bob, register):
    client.force_login(bob)
    response = client.post(
        reverse("risk-create", args=[register.pk]),
        {"title": "", "likelihood": 9, "impact": 3, "status": "open", "category": "technical"},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "This field is required." in body and "Select a valid choice" in body


def test_editing_a_risk_records_the_reason(client, bob, register):
    risk = Risk.objects.get(project=register, key="R2")
    client.force_login(bob)
    form = client.get(reverse("risk-edit", args=[risk.pk]), **HTMX).context["form"]
    data = {field.name: field.value() or "" for field in form}
    data.update(likelihood=2, reason="Indices added")
    response = client.post(reverse("risk-edit", args=[risk.pk]), data, **HTMX)
    assert response.status_code == 200 and f'id="risk-row-{risk.pk}"' in response.content.decode()
    latest = risk.assessments.latest()
    assert (latest.likelihood, latest.reason, latest.assessed_by) == (2, "Indices added", bob)


def test_an_edit_from_an_old_version_is_refused(client, alice, bob, register):
    risk = Risk.objects.get(project=register, key="R2")
    client.force_login(alice)
    form = client.get(reverse("risk-edit", args=[risk.pk]), **HTMX).context["form"]
    data = {field.name: field.value() or "" for field in form}
    services.risk_update(risk=risk, by=bob, version=risk.version, title="Bob's title")
    data.update(title="Alice's title")
    response = client.post(reverse("risk-edit", args=[risk.pk]), data, **HTMX)
    assert response.status_code == 409 and "while you were editing" in response.content.decode()
    assert Risk.objects.get(pk=risk.pk).title == "Bob's title"


def test_risk_page_shows_history_trend_and_actions(client, bob, register):
    risk = Risk.objects.get(project=register, key="R1")
    services.risk_update(risk=risk, by=bob, reason="Dry-run passed", likelihood=2)
    client.force_login(bob)
    response = client.post(
        reverse("risk-action-create", args=[risk.pk]),
        {
            "title": "Compare row counts before/after",
            "owner_title": "Backend Lead",
            "reduces_likelihood_to": 1,
        },
    )
    assert response.status_code == 302
    page = client.get(risk.get_absolute_url()).content.decode()
    assert "Dry-run passed" in page and "Compare row counts before/after" in page
    assert 'data-plotly-figure="trend-figure"' in page


def test_an_action_cannot_raise_the_rating(client, bob, register):
    risk = Risk.objects.get(project=register, key="R1")
    client.force_login(bob)
    response = client.post(
        reverse("risk-action-create", args=[risk.pk]),
        {"title": "Wrong way", "reduces_impact_to": 5},
    )
    assert response.status_code == 422
    assert "this would raise it" in response.content.decode()


def test_import_page_reports_problems_and_imports_nothing(client, alice, register):
    client.force_login(alice)
    upload = SimpleUploadedFile("risks.csv", b"title,likelihood,impact\nA,9,3\n", "text/csv")
    response = client.post(reverse("risk-import", args=[register.pk]), {"file": upload})
    assert response.status_code == 422
    assert "Row 2: likelihood: &#x27;9&#x27; is not a level" in response.content.decode()
    assert Risk.objects.filter(project=register).count() == 4


def test_export_downloads_the_register(client, victor, register):
    client.force_login(victor)
    response = client.get(reverse("risk-export", args=[register.pk]))
    assert response["Content-Type"] == "text/csv"
    assert response.content.decode().splitlines()[0].startswith("key,title")
    assert len(response.content.decode().splitlines()) == 5


@pytest.mark.parametrize("persona", ["carol", "erin", "victor"])
def test_read_only_members_cannot_change_the_register(client, request, persona, register):
    client.force_login(request.getfixturevalue(persona))
    risk = Risk.objects.get(project=register, key="R1")
    attempts = [
        client.get(reverse("risk-create", args=[register.pk])),
        client.post(reverse("risk-create", args=[register.pk]), {"title": "X"}),
        client.post(reverse("risk-edit", args=[risk.pk]), {"title": "Y"}),
        client.post(reverse("risk-action-create", args=[risk.pk]), {"title": "Z"}),
        client.post(reverse("risk-import", args=[register.pk])),
        client.post(reverse("risk-escalation-check", args=[register.pk])),
    ]
    assert [response.status_code for response in attempts] == [403] * 6
    assert Risk.objects.get(pk=risk.pk).title == "Data loss"
    page = client.get(reverse("risk-register", args=[register.pk])).content.decode()
    assert "Add risk" not in page and "risk-edit-" not in page


def test_non_members_get_404(client, oscar, register):
    client.force_login(oscar)
    risk = Risk.objects.get(project=register, key="R1")
    assert client.get(reverse("risk-register", args=[register.pk])).status_code == 404
    assert client.get(risk.get_absolute_url()).status_code == 404
    assert client.get(reverse("risk-export", args=[register.pk])).status_code == 404


def test_programme_heatmap_covers_only_projects_the_user_may_see(client, victor, register):
    hidden = ProjectFactory(programme=register.programme, code="HID")
    RiskFactory(project=hidden, likelihood=5, impact=5)
    client.force_login(victor)
    response = client.get(reverse("programme-risks", args=[register.programme.slug]))
    assert response.status_code == 200
    assert response.context["heatmap"].total == 3
    assert "HID" not in response.content.decode()


def test_the_programme_tabs_are_named_alike_on_the_status_and_the_risk_pages(
    client, victor, register
):
    """The same tab read "Status" on the programme page and "Projects" on its risk page."""
    client.force_login(victor)
    slug = register.programme.slug
    tabs = []
    for url in (reverse("programme-detail", args=[slug]), reverse("programme-risks", args=[slug])):
        page = client.get(url).content.decode()
        nav = re.search(r'<nav class="tabs" aria-label="Programme">(.*?)</nav>', page, re.S)
        tabs.append(re.findall(r">([^<>]+)</a>", nav.group(1)))
    assert tabs == [["Status", "Risks"], ["Status", "Risks"]]


def test_register_queries_do_not_grow_with_risks(client, alice, register):
    client.force_login(alice)
    url = reverse("risk-register", args=[register.pk])
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _ in range(15):
        risk = services.risk_create(
            project=register, by=alice, title="More", likelihood=2, impact=3
        )
        services.mitigation_action_create(risk=risk, by=alice, title="Act", reduces_impact_to=1)
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)


def test_escalation_shows_in_the_register_and_the_navigation(client, alice, register):
    register.manager = alice
    register.save()
    Risk.objects.filter(project=register).delete()
    services.risk_create(
        project=register,
        by=alice,
        title="Production outage during cutover",
        likelihood=3,
        impact=5,
        assessed_at=timezone.now() - timedelta(hours=25),
    )
    services.risk_escalate_overdue()
    client.force_login(alice)
    page = client.get(reverse("risk-register", args=[register.pk])).content.decode()
    assert "Escalated" in page
    assert 'aria-label="1 unread"' in page
    notes = client.get(reverse("notifications")).content.decode()
    assert "escalated: High risk unresolved" in notes
    client.post(reverse("notifications-read"))
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()


def test_muting_a_kind_from_the_notifications_page(client, alice):
    client.force_login(alice)
    response = client.post(reverse("notification-mute"), {"kind": "risk_escalated", "muted": "1"})
    assert response.status_code == 302
    assert alice.notification_mutes.filter(kind="risk_escalated").exists()
    assert (
        client.post(reverse("notification-mute"), {"kind": "nonsense", "muted": "1"}).status_code
        == 400
    )


def test_a_long_register_comes_in_pages_that_keep_the_filters(client, alice, project_a, settings):
    settings.RISK_REGISTER_PAGE_SIZE = 5
    for n in range(12):
        RiskFactory(project=project_a, title=f"Replica lag {n}", status="open")
    client.force_login(alice)
    url = reverse("risk-register", args=[project_a.pk])
    first = client.get(url, {"status": "open"}).content.decode()
    assert first.count('<tr id="risk-row-') == 5
    assert "12 risks, filtered; 1–5 shown" in first
    assert "Page 1 of 3" in first
    assert "?status=open&amp;page=2" in first
    last = client.get(url, {"status": "open", "page": 3}, headers={"HX-Request": "true"})
    assert last.content.decode().count('<tr id="risk-row-') == 2
    assert client.get(url, {"page": "999"}).status_code == 200  # past the end: the last page


def test_a_stale_risk_edit_is_shown_as_a_stale_plan_edit_is(client, alice, bob, register):
    """The same message and the same table of their values and yours as the plan's forms."""
    risk = Risk.objects.get(project=register, key="R2")
    client.force_login(alice)
    form = client.get(reverse("risk-edit", args=[risk.pk]), **HTMX).context["form"]
    data = {field.name: field.value() or "" for field in form}
    services.risk_update(risk=risk, by=bob, version=risk.version, title="Bob's title")
    data.update(title="Alice's title")
    response = client.post(reverse("risk-edit", args=[risk.pk]), data, **HTMX)
    body = response.content.decode()
    assert response.status_code == 409
    assert "saved this at" in body and "while you were editing" in body
    assert "Their value (saved)" in body and "Bob&#x27;s title" in body
    assert response.context["form"]["version"].value() == Risk.objects.get(pk=risk.pk).version
