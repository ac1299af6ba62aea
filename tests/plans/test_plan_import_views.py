"""Importing a plan in the browser: upload or paste, preview and correct, confirm; cancel or
a refused import leaves nothing."""

from pathlib import Path

import pytest
from django.urls import reverse

from gates.models import Gate
from projects.models import Membership, Phase, Project
from risks.models import Risk

pytestmark = pytest.mark.django_db

PLANS = Path(__file__).resolve().parents[2] / "demo" / "data" / "plans"
AAD = (PLANS / "aad-analytics-dashboard.md").read_text()
HTMX = {"HX-Request": "true"}


@pytest.fixture
def programme_manager(programme):
    from tests.factories import UserFactory

    user = UserFactory(username="pam")
    Membership.objects.create(user=user, programme=programme, project=None, role="manager")
    return user


def url(programme):
    return reverse("plan-import", args=[programme.slug])


def preview(client, programme, **data):
    return client.post(url(programme), {"start_date": "2027-01-04", **data}, headers=HTMX)


def test_paste_preview_then_create(client, programme_manager, programme):
    client.force_login(programme_manager)
    assert client.get(url(programme)).status_code == 200
    response = preview(client, programme, text=AAD, action="preview")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>3</strong> phases, <strong>12</strong> checklist items" in page
    assert 'value="Foundation and Optimization"' in page
    assert not Project.objects.exists()  # a preview saves nothing

    form = {
        "text": AAD,
        "start_date": "2027-01-04",
        "code": "",
        "name": "Analytics Dashboard",
        "action": "import",
        "phase-0-include": "on",
        "phase-0-name": "Foundation",
        "phase-1-include": "on",
        "phase-2-include": "on",
        **{f"item-0-{i}-include": "on" for i in range(6) if i != 2},  # leave one item out
        **{f"item-1-{i}-include": "on" for i in range(3)},
        **{f"item-2-{i}-include": "on" for i in range(3)},
        **{f"risk-{i}-include": "on" for i in range(4)},  # the fifth left out
        "risk-0-impact": "5",
        **{f"kpi-{i}-include": "on" for i in range(9)},
        **{f"gate-{i}-include": "on" for i in range(4)},
    }
    response = client.post(url(programme), form, headers=HTMX)
    assert response.status_code == 200
    project = Project.objects.get()
    assert response["HX-Redirect"] == reverse("project-status", args=[project.pk])
    assert (project.name, project.code) == ("Analytics Dashboard", "AD")
    assert list(project.phases.values_list("name", flat=True).order_by("order")) == [
        "Foundation",
        "Microservice Development and Integration",
        "QA, Deployment, and Monitoring",
    ]
    assert project.phases.get(order=1).checklist_items.count() == 5
    assert Risk.objects.filter(project=project).count() == 4
    assert Risk.objects.get(project=project, title__startswith="Data sync").impact == 5
    assert Gate.objects.filter(project=project).count() == 4


def test_upload_a_file_without_htmx(client, programme_manager, programme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(programme_manager)
    upload = SimpleUploadedFile("aad.md", AAD.encode(), content_type="text/markdown")
    response = client.post(
        url(programme), {"file": upload, "start_date": "2027-01-04", "action": "preview"}
    )
    assert response.status_code == 200
    assert "<html" in response.content.decode() and "Preview: what will be created" in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "", "start_date": "2027-01-04"}, "Upload a Markdown file or paste"),
        ({"text": "   \n", "start_date": "2027-01-04"}, "Upload a Markdown file or paste"),
        ({"text": AAD, "start_date": "next week"}, "Enter a valid date"),
        ({"text": "\x00\x01\x02" * 50, "start_date": "2027-01-04"}, "Null characters"),
        ({"text": "\x01\x02\x03" * 50, "start_date": "2027-01-04"}, "does not look like text"),
    ],
)
def test_bad_input_is_answered_in_the_form(client, programme_manager, programme, data, message):
    client.force_login(programme_manager)
    response = client.post(url(programme), {**data, "action": "preview"}, headers=HTMX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Project.objects.exists()


def test_a_refused_import_shows_why_and_saves_nothing(client, programme_manager, programme):
    client.force_login(programme_manager)
    form = {
        "text": AAD,
        "start_date": "2027-01-04",
        "action": "import",
        "phase-0-include": "on",
        "risk-0-include": "on",
        "risk-0-likelihood": "9",
    }
    response = client.post(url(programme), form, headers=HTMX)
    assert response.status_code == 422
    assert "must be a level from 1 to 5" in response.content.decode()
    assert not Project.objects.exists() and not Phase.objects.exists()


def test_only_programme_managers_may_import(client, alice, erin, oscar, programme):
    for user, status in ((alice, 403), (erin, 403), (oscar, 404)):
        client.force_login(user)
        assert client.get(url(programme)).status_code == status
        assert preview(client, programme, text=AAD, action="preview").status_code == status


def test_the_preview_states_targets_and_kinds_in_words(client, programme_manager, programme):
    client.force_login(programme_manager)
    page = preview(client, programme, text=AAD, action="preview").content.decode()
    kpis = page[page.index("<h3>KPIs</h3>") : page.index("<h3>Gates</h3>")]
    assert "below 2 s" in kpis and "below 1 %" in kpis and "at least 99.9 %" in kpis
    assert "Lagging indicator, technical" in kpis
    assert "lt " not in kpis and "gte " not in kpis and "lagging," not in kpis
    gates = page[page.index("<h3>Gates</h3>") :]
    assert "Phase exit" in gates and "phase_exit" not in gates
