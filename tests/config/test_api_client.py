"""A client generated from the OpenAPI schema by openapi-python-client drives one workflow
over HTTP against the live portal: import a plan as a project, push measurements, read the
KPI's status and the gate's recommendation."""

import importlib
import os
import subprocess
import sys
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.tokens import api_token_create
from tests.factories import MembershipFactory

PLAN = """# Payments ledger cutover (PAY)

## Phase 1 (Week 1-2): Dual write
- [ ] Enable dual write to the new ledger
- [ ] Compare row counts every hour

## Success Metrics
### Technical KPIs:
- p95 write latency < 15ms

## Approval Gates Summary
| Gate | Approver(s) | Timing | Criteria |
|---|---|---|---|
| Cutover | Tech Lead | After Week 2 | p95 write latency < 15ms |
"""


@pytest.fixture(scope="module")
def waymark_client(tmp_path_factory, django_db_blocker):
    """The client package, generated from the schema the portal serves."""
    folder = tmp_path_factory.mktemp("client")
    schema = folder / "schema.yml"
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("spectacular", "--validate", stdout=out)
    schema.write_text(out.getvalue())
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            bin_dir / "openapi-python-client",
            "generate",
            "--path",
            schema,
            "--meta",
            "none",
            "--output-path",
            folder / "waymark_client",
        ],
        check=True,
        env=env,
        cwd=folder,
        capture_output=True,
    )
    sys.path.insert(0, str(folder))
    yield importlib.import_module("waymark_client")
    sys.path.remove(str(folder))


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_imports_a_plan_pushes_values_and_reads_the_decision(
    waymark_client, live_server, alice, programme
):
    from waymark_client.api.gate_criteria import gate_criteria_list, gate_criteria_partial_update
    from waymark_client.api.gates import gates_list, gates_record_retrieve
    from waymark_client.api.kpis import kpis_list, kpis_retrieve
    from waymark_client.api.measurements import measurements_create
    from waymark_client.api.plan_imports import plan_imports_create
    from waymark_client.models import (
        ComparatorEnum,
        CriterionKindEnum,
        MeasurementInRequest,
        PatchedCriterionRequest,
        PlanImportRequest,
    )

    MembershipFactory(user=alice, project=None, programme=programme, role="manager")
    _, token = api_token_create(user=alice, name="Release pipeline")
    client = waymark_client.AuthenticatedClient(base_url=live_server.url, token=token)

    imported = plan_imports_create.sync(
        client=client,
        body=PlanImportRequest(
            programme=programme.slug, markdown=PLAN, start_date=date(2027, 1, 4)
        ),
    )
    assert imported.code == "PAY"
    assert (imported.report.phases, imported.report.kpis, imported.report.gates) == (1, 1, 1)

    kpi = kpis_list.sync(client=client, project=imported.project).results[0]
    gate = gates_list.sync(client=client, project=imported.project).results[0]
    assert (kpi.name, kpi.comparator.value, kpi.target_value, kpi.unit) == (
        "p95 write latency",
        "lt",
        15.0,
        "ms",
    )
    # The manager makes the plan's criterion judge the KPI.
    criterion = gate_criteria_list.sync(client=client, gate=gate.id).results[0]
    linked = gate_criteria_partial_update.sync(
        id=criterion.id,
        client=client,
        body=PatchedCriterionRequest(
            kind=CriterionKindEnum.KPI, kpi=kpi.id, comparator=ComparatorEnum.LT, threshold=15
        ),
    )
    assert (linked.kpi, linked.threshold) == (kpi.id, 15)
    before = gates_record_retrieve.sync(id=gate.id, client=client)
    assert before.recommendation == "INCONCLUSIVE"  # no value yet: a critical criterion unjudged

    now = timezone.now().replace(microsecond=0)
    pushed = measurements_create.sync(
        client=client,
        body=[
            MeasurementInRequest(kpi=kpi.id, at=now - timedelta(minutes=n), value=9.0 + n)
            for n in range(3)
        ],
    )
    assert (pushed.created, pushed.already_recorded) == (3, 0)

    assert kpis_retrieve.sync(id=kpi.id, client=client).status.value == "on_target"
    after = gates_record_retrieve.sync(id=gate.id, client=client)
    assert after.recommendation == "GO"
    assert after.criteria[0].result == "Met"
