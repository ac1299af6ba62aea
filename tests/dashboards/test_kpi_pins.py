"""Pinning KPIs on a project's dashboard: a pinned KPI shows first, in a "Pinned" group, for
the person who pinned it only; with htmx the tiles are swapped in place, without JavaScript
the form posts and comes back to the tile."""

import re

import pytest
from django.urls import reverse

from metrics.models import KPIPin, KPIStatus
from tests.dashboards.test_status_pages import _fingerprints
from tests.factories import KPIFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def kpis(project_a):
    """Three KPIs, worst first as the dashboard orders them."""
    return [
        KPIFactory(project=project_a, name="p95 write latency", status=KPIStatus.BREACHED),
        KPIFactory(project=project_a, name="Error rate", status=KPIStatus.ON_TARGET),
        KPIFactory(project=project_a, name="Cutover rehearsals"),
    ]


def tiles(html: str) -> list[int]:
    """The KPI ids of the tiles, in the order the page shows them."""
    return [int(pk) for pk in re.findall(r'<div [^>]*\bid="kpi-tile-(\d+)"', html)]


def pinned_group(html: str) -> list[int]:
    """The KPI ids under the "Pinned" heading."""
    if 'id="kpi-group-pinned"' not in html:
        return []
    group = html.split('id="kpi-group-pinned"', 1)[1].split("kpi-group-others", 1)[0]
    return tiles(group)


def dashboard(client, project) -> str:
    response = client.get(reverse("project-status", args=[project.pk]))
    assert response.status_code == 200
    return response.content.decode()


def pin(client, kpi, pinned="1", **extra):
    return client.post(reverse("kpi-pin", args=[kpi.pk]), {"pinned": pinned}, **extra)


def test_a_pinned_kpi_shows_first_in_a_pinned_group(client, alice, project_a, kpis):
    breached, calm, silent = kpis
    client.force_login(alice)
    page = dashboard(client, project_a)
    assert tiles(page) == [breached.pk, calm.pk, silent.pk]
    assert "Pinned" not in page
    assert pin(client, silent, **HTMX).status_code == 200
    page = dashboard(client, project_a)
    assert tiles(page) == [silent.pk, breached.pk, calm.pk]
    assert pinned_group(page) == [silent.pk]
    assert ">Other KPIs</h3>" in page
    assert 'aria-label="Unpin Cutover rehearsals"' in page
    assert 'aria-label="Pin Error rate first"' in page


def test_pinning_with_htmx_answers_the_tiles_pinned_first(client, alice, project_a, kpis):
    breached, calm, _silent = kpis
    client.force_login(alice)
    response = pin(client, calm, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="kpi-tiles"')
    assert pinned_group(body) == [calm.pk]
    assert tiles(body)[:2] == [calm.pk, breached.pk]
    assert f"kpi-pin-{calm.pk}" in response["HX-Trigger-After-Settle"]  # focus stays on it
    assert KPIPin.objects.filter(user=alice, kpi=calm).exists()


def test_without_javascript_pinning_returns_to_the_tile(client, alice, project_a, kpis):
    calm = kpis[1]
    client.force_login(alice)
    response = pin(client, calm)
    assert response.status_code == 302
    assert response.url == f"{reverse('project-status', args=[project_a.pk])}#kpi-tile-{calm.pk}"
    page = client.get(response.url).content.decode()
    assert "“Error rate” is pinned first on your dashboard." in page
    assert pinned_group(page) == [calm.pk]


def test_unpinning_puts_the_kpi_back_in_its_place(client, alice, project_a, kpis):
    breached, calm, silent = kpis
    client.force_login(alice)
    pin(client, silent)
    pin(client, calm)
    assert pinned_group(dashboard(client, project_a)) == [calm.pk, silent.pk]
    response = pin(client, silent, pinned="0")
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "“Cutover rehearsals” is no longer pinned on your dashboard." in page
    assert tiles(page) == [calm.pk, breached.pk, silent.pk]
    assert pinned_group(page) == [calm.pk]


def test_anothers_pins_leave_my_dashboard_as_it_was(client, alice, bob, project_a, kpis):
    breached, calm, silent = kpis
    client.force_login(alice)
    pin(client, silent)
    client.force_login(bob)
    page = dashboard(client, project_a)
    assert tiles(page) == [breached.pk, calm.pk, silent.pk]
    assert pinned_group(page) == []


def test_a_read_only_member_may_pin_and_an_outsider_may_not(client, victor, oscar, project_a, kpis):
    calm = kpis[1]
    client.force_login(victor)
    assert pin(client, calm, **HTMX).status_code == 200
    assert pinned_group(dashboard(client, project_a)) == [calm.pk]
    client.force_login(oscar)
    assert pin(client, calm, **HTMX).status_code == 404
    assert pin(client, calm, pinned="0").status_code == 404
    assert list(KPIPin.objects.values_list("user__username", flat=True)) == ["victor"]


def test_pinning_needs_to_be_told_pin_or_unpin(client, alice, project_a, kpis):
    client.force_login(alice)
    for data in ({}, {"pinned": "yes"}):
        response = client.post(reverse("kpi-pin", args=[kpis[0].pk]), data, **HTMX)
        assert response.status_code == 400
        assert "pin (1) or unpin (0)" in response.content.decode()
    assert not KPIPin.objects.exists()


def test_the_live_poll_keeps_my_pins_and_swaps_the_tiles_when_they_change(
    client, alice, project_a, kpis
):
    silent = kpis[2]
    client.force_login(alice)
    page = dashboard(client, project_a)
    live = reverse("project-status-live", args=[project_a.pk])
    headers = {"HX-Request": "true", "X-Live-Fingerprints": _fingerprints(page)}
    assert client.get(live, headers=headers).status_code == 204
    pin(client, silent)  # in another tab
    body = client.get(live, headers=headers).content.decode()
    assert '<div id="kpi-tiles"' in body
    assert pinned_group(body) == [silent.pk]


def test_the_programme_page_tiles_have_no_pin_buttons(client, erin, programme, project_a, kpis):
    client.force_login(erin)
    page = client.get(reverse("programme-detail", args=[programme.slug])).content.decode()
    assert f'id="kpi-tile-{kpis[0].pk}"' in page
    assert "kpi-pin" not in page
