"""CSV export and an all-or-nothing import that reports every bad row."""

import csv
import io

import pytest

from risks.models import Risk
from risks.register_csv import RegisterImportRefused, register_export_csv, register_import_csv
from tests.factories import RiskFactory

pytestmark = pytest.mark.django_db

HEADER = "key,title,category,likelihood,impact,status,owner,owner_title,mitigation,review_by\n"


def test_export_then_import_round_trips_into_another_project(project_a, project_b, alice):
    RiskFactory(project=project_a, key="R1", title="Data loss", likelihood=3, impact=4)
    RiskFactory(project=project_a, key="R2", title="Outage, cascading", likelihood=3, impact=5)
    exported = register_export_csv(risks=Risk.objects.filter(project=project_a).order_by("key"))
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(row["key"], row["score"]) for row in rows] == [("R1", "12"), ("R2", "15")]
    created = register_import_csv(project=project_b, data=exported.encode(), by=alice)
    assert [(risk.key, risk.title, risk.score) for risk in created] == [
        ("R1", "Data loss", 12),
        ("R2", "Outage, cascading", 15),
    ]
    assert created[0].assessments.get().reason == "Imported from CSV."


def test_the_plans_words_are_accepted_and_missing_keys_are_given(project_a, alice):
    data = HEADER + ",Pool exhaustion,technical,Medium,Medium,open,,Backend Lead,PgBouncer,\n"
    (risk,) = register_import_csv(project=project_a, data=data.encode(), by=alice)
    assert (risk.key, risk.likelihood, risk.impact, risk.owner_title) == (
        "R1",
        3,
        3,
        "Backend Lead",
    )


def test_any_bad_row_imports_nothing_and_every_bad_row_is_reported(project_a, alice):
    RiskFactory(project=project_a, key="R1")
    data = (
        HEADER
        + "R9,Fine row,technical,3,3,open,,,,\n"
        + "R1,Existing key,technical,3,3,open,,,,\n"
        + "R9,Twice in the file,technical,3,3,open,,,,\n"
        + ",,technical,Medium-ish,9,open,,,,\n"
        + ",Wrong status,technical,2,2,sleeping,nobody,,,2026-13-01\n"
    )
    with pytest.raises(RegisterImportRefused) as refused:
        register_import_csv(project=project_a, data=data.encode(), by=alice)
    problems = refused.value.problems
    assert problems[0] == "Row 3: key R1 is already in the register."
    assert problems[1] == "Row 4: key R9 is also on row 2."
    assert problems[2].startswith("Row 5: title: a risk needs a title; likelihood: 'Medium-ish'")
    assert "impact: '9' is not a level" in problems[2]
    assert "Row 6: status: status 'sleeping' is not one of" in problems[3]
    assert "owner: no user called 'nobody'" in problems[3]
    assert (
        "review_by: '2026-13-01' is not a date; write it as year-month-day, such as 2027-03-31"
        in problems[3]
    )
    assert "isoformat" not in " ".join(problems)
    assert Risk.objects.filter(project=project_a).count() == 1


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "The file is empty"),
        (b"\xff\xfe\x00t", "not UTF-8"),
        (b"title,colour\nX,red\n", "Unknown column(s): colour"),
        (b"title\nX\n", "Missing column(s): impact, likelihood"),
        (HEADER.encode(), "no risks in it"),
        ((HEADER + "R1,A,technical,3,3,open,,,,,extra\n").encode(), "more values than columns"),
    ],
)
def test_malformed_files_get_a_message_to_act_on(project_a, alice, data, problem):
    with pytest.raises(RegisterImportRefused) as refused:
        register_import_csv(project=project_a, data=data, by=alice)
    assert problem in " ".join(refused.value.problems)
