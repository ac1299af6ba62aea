"""Projects exported as Markdown plans: importing the export gives the same structure back,
for every demo project."""

from datetime import date

import pytest
from django.urls import reverse

from demo.loader import demo_load
from gates.models import Gate
from metrics.models import KPI
from plans.markdown.build import ImportOptions, plan_import, plan_read
from plans.markdown.export import project_markdown
from projects.models import Phase, Programme, Project
from risks.models import Risk

pytestmark = pytest.mark.django_db


def structure(project: Project) -> dict:
    phases = Phase.objects.filter(project=project, deleted_at__isnull=True).order_by("order")
    return {
        "phases": [
            (
                phase.name,
                phase.timing,
                sorted(
                    (item.section, item.title, item.done, item.detail)
                    for item in phase.checklist_items.filter(deleted_at__isnull=True)
                ),
            )
            for phase in phases
        ],
        "risks": sorted(
            (r.key, r.title, r.likelihood, r.impact, r.category, r.mitigation)
            for r in Risk.objects.filter(project=project)
        ),
        "kpis": sorted(
            (k.name, k.kind, k.category, k.comparator, k.target_value, k.unit, k.baseline_text)
            for k in KPI.objects.filter(project=project)
        ),
        "gates": [
            (g.name, g.kind, g.rollout_percent, [c.text for c in g.criteria.order_by("order")])
            for g in Gate.objects.filter(project=project).order_by("order", "pk")
        ],
    }


@pytest.mark.parametrize("code", ["AAD", "PROVIDER-API", "SPRINT-8"])
def test_importing_the_export_of_a_demo_project_gives_it_back(code):
    demo_load(today=date(2026, 11, 23))
    original = Project.objects.get(code=code)
    text = project_markdown(project=original)
    copy = plan_import(
        plan=plan_read(text),
        options=ImportOptions(
            programme=Programme.objects.create(name="Copies", slug="copies"),
            start_date=date(2027, 1, 4),
        ),
    )
    assert copy.code == original.code and copy.name == original.name
    assert structure(copy) == structure(original)


def test_export_download_needs_access(client, alice, oscar, project_a):
    client.force_login(alice)
    response = client.get(reverse("project-plan-export", args=[project_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert response.content.decode().startswith(f"# Migration Plan: {project_a.name} (A)")
    client.force_login(oscar)
    assert client.get(reverse("project-plan-export", args=[project_a.pk])).status_code == 404
