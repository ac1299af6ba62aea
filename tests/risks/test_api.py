"""Risks over the API: the register under the pages' permissions, every reassessment in the
risk's history with its reason."""

import pytest

from risks.models import Risk
from tests.factories import RiskFactory

pytestmark = pytest.mark.django_db


def test_a_reassessment_is_kept_in_the_history_with_its_reason(client, bob, project_a):
    client.force_login(bob)
    created = client.post(
        "/api/v1/risks/",
        {"project": project_a.pk, "title": "Replica lag", "likelihood": 3, "impact": 4},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    risk = created.json()
    assert (risk["key"], risk["score"]) == ("R1", 12)
    changed = client.patch(
        f"/api/v1/risks/{risk['id']}/",
        {"likelihood": 2, "reason": "Read replicas added", "version": risk["version"]},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["score"] == 8
    history = client.get(f"/api/v1/risks/{risk['id']}/history/").json()
    assert [(h["likelihood"], h["reason"], h["assessed_by"]) for h in history] == [
        (2, "Read replicas added", "bob"),
        (3, "First assessment.", "bob"),
    ]


def test_the_register_is_members_only(client, oscar, victor, project_a):
    risk = RiskFactory(project=project_a)
    client.force_login(oscar)
    assert client.get(f"/api/v1/risks/{risk.pk}/").status_code == 404
    assert client.get(f"/api/v1/risks/{risk.pk}/history/").status_code == 404
    client.force_login(victor)
    assert client.get(f"/api/v1/risks/?project={project_a.pk}").json()["count"] == 1
    refused = client.patch(
        f"/api/v1/risks/{risk.pk}/", {"impact": 1}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert Risk.objects.get(pk=risk.pk).impact == risk.impact
