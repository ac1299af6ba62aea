import pytest
from django.db import IntegrityError, transaction

from risks.models import Risk
from tests.factories import RiskFactory

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_score_is_likelihood_times_impact_computed_by_the_database():
    risk = RiskFactory(likelihood=3, impact=5)
    assert Risk.objects.get(pk=risk.pk).score == 15
    Risk.objects.filter(pk=risk.pk).update(impact=2)
    assert Risk.objects.get(pk=risk.pk).score == 6


def test_risk_key_is_unique_within_a_project():
    risk = RiskFactory(key="R1")
    refused(lambda: RiskFactory(project=risk.project, key="R1"))
    assert RiskFactory(key="R1").key == "R1"


@pytest.mark.parametrize(("likelihood", "impact"), [(0, 3), (6, 3), (3, 0), (3, 6)])
def test_likelihood_and_impact_are_rated_from_1_to_5(likelihood, impact):
    refused(lambda: RiskFactory(likelihood=likelihood, impact=impact))
