"""The database itself refuses inconsistent plans, whatever code writes to it."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from projects.models import ChecklistItem, Membership
from tests.factories import (
    ChecklistItemFactory,
    PhaseFactory,
    ProgrammeFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_project_code_is_unique_within_its_programme_only():
    programme = ProgrammeFactory()
    ProjectFactory(programme=programme, code="AAD")
    refused(lambda: ProjectFactory(programme=programme, code="AAD"))
    assert ProjectFactory(code="AAD").code == "AAD"  # another programme may reuse it


def test_project_baseline_cannot_end_before_it_starts():
    refused(lambda: ProjectFactory(baseline_start=date(2026, 3, 1), baseline_end=date(2026, 2, 1)))


def test_project_budget_cannot_be_negative():
    refused(lambda: ProjectFactory(budget_spent=-1))


def test_project_currency_must_be_an_iso_code():
    refused(lambda: ProjectFactory(currency="usd"))


def test_phase_order_is_unique_within_a_project_and_starts_at_one():
    phase = PhaseFactory(order=1)
    refused(lambda: PhaseFactory(project=phase.project, order=1))
    refused(lambda: PhaseFactory(order=0))


def test_phase_forecast_cannot_end_before_it_starts():
    refused(lambda: PhaseFactory(forecast_start=date(2026, 3, 1), forecast_end=date(2026, 2, 1)))


def test_only_a_done_phase_has_an_actual_end():
    refused(lambda: PhaseFactory(status="in_progress", actual_end=date(2026, 2, 1)))
    assert PhaseFactory(status="done", actual_end=date(2026, 2, 1)).actual_end


def test_done_checklist_item_records_when_and_open_one_does_not():
    refused(lambda: ChecklistItemFactory(done=True, done_at=None))
    item = ChecklistItemFactory()
    refused(lambda: ChecklistItem.objects.filter(pk=item.pk).update(done_by=UserFactory()))


def test_membership_is_on_a_project_or_a_programme_not_both_nor_neither():
    user, project = UserFactory(), ProjectFactory()
    refused(
        lambda: Membership.objects.create(
            user=user, project=project, programme=project.programme, role="viewer"
        )
    )
    refused(lambda: Membership.objects.create(user=user, role="viewer"))


def test_a_user_has_one_membership_per_project_and_per_programme():
    user, project = UserFactory(), ProjectFactory()
    Membership.objects.create(user=user, project=project, role="viewer")
    refused(lambda: Membership.objects.create(user=user, project=project, role="manager"))
    Membership.objects.create(user=user, programme=project.programme, role="executive")
    refused(
        lambda: Membership.objects.create(user=user, programme=project.programme, role="approver")
    )
