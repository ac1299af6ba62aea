"""Every change to a risk's assessment leaves a row in its history."""

import pytest
from django.core.exceptions import ValidationError

from risks import services
from risks.models import RiskAssessment
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_creating_a_risk_records_its_first_assessment():
    pm = UserFactory()
    risk = services.risk_create(
        project=ProjectFactory(), by=pm, key="R1", title="Data loss", likelihood=3, impact=4
    )
    (first,) = risk.assessments.all()
    assert (first.likelihood, first.impact, first.status, first.assessed_by) == (3, 4, "open", pm)


def test_changing_likelihood_impact_status_or_owner_adds_a_history_row():
    pm = UserFactory()
    risk = services.risk_create(
        project=ProjectFactory(), by=pm, key="R2", title="Slow queries", likelihood=4, impact=4
    )
    services.risk_update(risk=risk, by=pm, reason="Indices added", likelihood=2)
    services.risk_update(risk=risk, by=pm, status="mitigating")
    history = list(risk.assessments.order_by("assessed_at", "pk"))
    assert [(row.likelihood, row.status) for row in history] == [
        (4, "open"),
        (2, "open"),
        (2, "mitigating"),
    ]
    assert history[1].reason == "Indices added"


def test_changing_only_the_wording_adds_no_history_row():
    pm = UserFactory()
    risk = services.risk_create(
        project=ProjectFactory(), by=pm, key="R3", title="Burnout", likelihood=3, impact=3
    )
    services.risk_update(risk=risk, by=pm, mitigation="Rotate on-call responsibilities")
    assert risk.assessments.count() == 1


def test_an_invalid_rating_is_refused_and_changes_nothing():
    pm = UserFactory()
    risk = services.risk_create(
        project=ProjectFactory(), by=pm, key="R4", title="Outage", likelihood=3, impact=5
    )
    with pytest.raises(ValidationError):
        services.risk_update(risk=risk, by=pm, likelihood=9)
    risk.refresh_from_db()
    assert risk.likelihood == 3
    assert RiskAssessment.objects.filter(risk=risk).count() == 1
