"""factory_boy factories for the domain model."""

import hashlib
from datetime import date, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from gates.models import Gate, GateApprover, GateCondition, GateCriterion, SignOff
from metrics.models import KPI, Measurement, MetricSource
from projects.models import ChecklistItem, Membership, Phase, Programme, Project
from risks.models import Risk


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"Programme {n}")
    slug = factory.Sequence(lambda n: f"programme-{n}")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    programme = factory.SubFactory(ProgrammeFactory)
    code = factory.Sequence(lambda n: f"P{n}")
    name = factory.Sequence(lambda n: f"Migration {n}")
    baseline_start = date(2026, 1, 5)
    baseline_end = date(2026, 6, 26)
    target_delivery = date(2026, 6, 26)
    forecast_end = date(2026, 7, 10)
    budget_planned = 15000
    budget_spent = 4000


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phase

    project = factory.SubFactory(ProjectFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Phase {n}")
    baseline_start = date(2026, 1, 5)
    baseline_end = date(2026, 2, 27)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    phase = factory.SubFactory(PhaseFactory)
    title = factory.Sequence(lambda n: f"Task {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = "viewer"


class RiskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Risk

    project = factory.SubFactory(ProjectFactory)
    key = factory.Sequence(lambda n: f"R{n}")
    title = factory.Sequence(lambda n: f"Risk {n}")
    likelihood = 3
    impact = 4


class KPIFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KPI

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"KPI {n}")
    unit = "ms"
    comparator = "lt"
    target_value = 500


class MetricSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricSource

    kpi = factory.SubFactory(KPIFactory)
    kind = "manual"
    config = factory.LazyFunction(dict)
    interval = timedelta(minutes=5)


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measurement

    kpi = factory.SubFactory(KPIFactory)
    at = factory.Sequence(lambda n: timezone.now() - timedelta(minutes=n))
    value = 420.0


class GateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gate

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Gate {n}")
    kind = "go_no_go"


class GateCriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GateCriterion

    gate = factory.SubFactory(GateFactory)
    text = factory.Sequence(lambda n: f"Criterion {n}")
    kind = "manual"


class GateApproverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GateApprover

    gate = factory.SubFactory(GateFactory)
    title = "DBA"
    role = "approver"


class SignOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignOff

    gate = factory.SubFactory(GateFactory)
    signer = factory.SubFactory(UserFactory)
    decision = "approve"
    signed_at = factory.LazyFunction(timezone.now)
    content_hash = factory.LazyFunction(lambda: hashlib.sha256(b"gate snapshot").hexdigest())


class GateConditionFactory(factory.django.DjangoModelFactory):
    """A condition of a CONDITIONAL GO, as deciding the gate makes it."""

    class Meta:
        model = GateCondition

    signoff = factory.SubFactory(
        SignOffFactory, decision="approve_with_conditions", conditions="Rehearse the rollback"
    )
    gate = factory.SelfAttribute("signoff.gate")
    order = factory.Sequence(lambda n: n + 1)
    text = factory.Sequence(lambda n: f"Condition {n}")
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=14))
    created_at = factory.LazyFunction(timezone.now)
