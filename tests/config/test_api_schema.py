"""The OpenAPI schema is complete and valid, and the API keeps to it: schemathesis sends every
operation generated requests as an authenticated user; no answer may be a server error or
stray from the schema."""

from io import StringIO

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from accounts.tokens import api_token_create
from config.wsgi import application
from tests.factories import (
    ChecklistItemFactory,
    GateFactory,
    KPIFactory,
    MeasurementFactory,
    MembershipFactory,
    PhaseFactory,
    RiskFactory,
)

EXAMPLES_PER_OPERATION = 25
OPERATIONS = 73  # every operation under /api/v1/: a new one must be counted here


def test_the_schema_is_generated_without_a_warning_and_is_valid():
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    assert schema.startswith("openapi: 3.")
    assert "personalToken" in schema


@pytest.fixture
def token(db, alice, programme, project_a):
    MembershipFactory(user=alice, project=None, programme=programme, role="manager")  # imports
    phase = PhaseFactory(project=project_a, order=1, name="Foundation")
    ChecklistItemFactory(phase=phase, title="Schema review", order=1)
    RiskFactory(project=project_a)
    MeasurementFactory(kpi=KPIFactory(project=project_a))
    GateFactory(project=project_a)
    return api_token_create(user=alice, name="Fuzzing")[1]


@pytest.fixture
def connection_kept_open():
    """Calls into the WSGI application keep the test's database connection, as Django's test
    client does (the requests run inside the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def fuzz(operation, headers: dict) -> int:
    """Send `operation` generated requests; the number sent."""
    calls = []

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,  # the same requests on every run: a failure reproduces
    )
    def call(case):
        # Every check but "schema-valid data is accepted": a valid shape may still name a
        # phase that is not there or break a rule of the plan (a 400, documented as such).
        case.call_and_validate(
            headers=headers, excluded_checks=[schemathesis.checks.positive_data_acceptance]
        )
        calls.append(case)

    call()
    return len(calls)


def test_every_operation_answers_within_the_schema(token, settings, connection_kept_open):
    """Each operation gets EXAMPLES_PER_OPERATION generated requests (path ids, filters, bodies
    valid and not), sent through the WSGI application with alice's token."""
    settings.API_TOKEN_RATE = "100000/min"
    api = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    headers = {"Authorization": f"Bearer {token}"}
    covered = {}
    for result in api.get_all_operations():
        operation = result.ok()
        covered[operation.label] = fuzz(operation, headers)
    assert len(covered) == OPERATIONS, sorted(covered)
    assert all(count == EXAMPLES_PER_OPERATION for count in covered.values()), covered
