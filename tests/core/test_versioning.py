"""One optimistic lock for every row several people edit: the same check and message."""

import pytest
from django.db import transaction

from core.versioning import StaleEdit, version_claim
from projects.models import Phase
from risks.models import Risk
from tests.factories import PhaseFactory, RiskFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_claim_at_the_stored_version_raises_it_by_one():
    phase = PhaseFactory()
    with transaction.atomic():
        claimed = version_claim(Phase, pk=phase.pk, version=phase.version)
    assert claimed.version == phase.version + 1


@pytest.mark.parametrize("model_factory", [PhaseFactory, RiskFactory])
def test_a_claim_at_an_old_version_is_refused_with_the_same_message(model_factory):
    row = model_factory()
    type(row).objects.filter(pk=row.pk).update(version=row.version + 1)
    with pytest.raises(StaleEdit, match=r"saved this( at \d\d:\d\d)? while you were editing\."):
        version_claim(type(row), pk=row.pk, version=row.version)


def test_the_message_names_who_saved_where_the_row_keeps_its_history():
    editor = UserFactory(first_name="Ada", last_name="Lovelace")
    phase = PhaseFactory()
    phase._history_user = editor
    phase.save()
    error = StaleEdit(Phase.objects.get(pk=phase.pk))
    assert str(error).startswith("Ada Lovelace saved this at ")


def test_without_a_history_the_message_says_when_and_someone():
    risk = RiskFactory()
    assert str(StaleEdit(Risk.objects.get(pk=risk.pk))).startswith("Someone saved this at ")
