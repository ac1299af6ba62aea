"""The API for programmes, projects, phases and checklist items: the pages' permissions (a
non-member gets 404, a member without the right 403), versions, filters, one error body."""

import json

import pytest

from projects.models import ChecklistItem, Phase, Project
from tests.factories import ChecklistItemFactory, PhaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def phase(project_a):
    return PhaseFactory(project=project_a, order=1, name="Foundation")


@pytest.fixture
def item(phase):
    return ChecklistItemFactory(phase=phase, title="Schema review", order=1)


def as_user(client, user):
    client.force_login(user)
    return client


def test_a_non_member_gets_404_for_every_object_of_a_project(client, oscar, phase, item):
    api = as_user(client, oscar)
    project = phase.project
    for path in (
        f"/api/v1/projects/{project.pk}/",
        f"/api/v1/projects/{project.pk}/status/",
        f"/api/v1/phases/{phase.pk}/",
        f"/api/v1/checklist-items/{item.pk}/",
    ):
        assert api.get(path).status_code == 404, path
    response = api.patch(
        f"/api/v1/phases/{phase.pk}/", {"name": "Mine"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert api.get("/api/v1/projects/").json()["results"][0]["code"] == "B"  # only its own


def test_a_viewer_reads_but_may_not_change(client, victor, phase):
    api = as_user(client, victor)
    assert api.get(f"/api/v1/phases/{phase.pk}/").json()["name"] == "Foundation"
    response = api.patch(
        f"/api/v1/phases/{phase.pk}/", {"name": "Renamed"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not edit this phase."}
    phase.refresh_from_db()
    assert phase.name == "Foundation"


def test_a_contributor_changes_a_phase_with_its_version_and_a_stale_one_is_refused(
    client, bob, phase
):
    api = as_user(client, bob)
    version = api.get(f"/api/v1/phases/{phase.pk}/").json()["version"]
    ok = api.patch(
        f"/api/v1/phases/{phase.pk}/",
        {"name": "Foundation and schema", "version": version},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["version"] == version + 1
    stale = api.patch(
        f"/api/v1/phases/{phase.pk}/",
        {"name": "Lost update", "version": version},
        content_type="application/json",
    )
    assert stale.status_code == 400
    assert "while you were editing" in stale.json()["errors"]["version"][0]
    assert Phase.objects.get(pk=phase.pk).name == "Foundation and schema"
    assert phase.history.first().history_user == bob  # the page's history, the same way


def test_items_are_added_ticked_and_filtered(client, bob, phase, item):
    api = as_user(client, bob)
    created = api.post(
        "/api/v1/checklist-items/",
        {"phase": phase.pk, "title": "Load test", "done": True},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["order"], body["done"]) == (2, True) and body["done_at"]
    assert ChecklistItem.objects.get(pk=body["id"]).done_by == bob
    done = api.get(f"/api/v1/checklist-items/?project={phase.project_id}&done=true").json()
    assert [i["title"] for i in done["results"]] == ["Load test"]


def test_bad_input_gets_field_messages_and_saves_nothing(client, bob, phase):
    api = as_user(client, bob)
    response = api.post(
        "/api/v1/checklist-items/",
        {"phase": phase.pk, "title": "", "due": "next week"},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Nothing was saved: correct the fields named."
    assert set(body["errors"]) == {"title", "due"}
    assert not ChecklistItem.objects.exists()


def test_only_a_programme_manager_adds_a_project(client, alice, programme, superuser):
    data = {"programme": programme.slug, "code": "NEW", "name": "New migration"}
    refused = as_user(client, alice).post(
        "/api/v1/projects/", data, content_type="application/json"
    )
    assert refused.status_code == 403  # alice manages project A, not the programme
    created = as_user(client, superuser).post(
        "/api/v1/projects/", data, content_type="application/json"
    )
    assert created.status_code == 201, created.json()
    assert Project.objects.get(code="NEW").programme == programme


def test_status_gives_the_rating_with_reasons(client, victor, project_a):
    body = as_user(client, victor).get(f"/api/v1/projects/{project_a.pk}/status/").json()
    assert body["code"] == "A"
    assert body["rag"] in {"red", "amber", "green", "unknown"}
    assert isinstance(body["reasons"], list) and body["summary"]


def test_lists_take_a_constant_number_of_queries(client, bob, phase, django_assert_max_num_queries):
    api = as_user(client, bob)
    for n in range(30):
        ChecklistItemFactory(phase=phase, title=f"Item {n}", order=n + 2)
    with django_assert_max_num_queries(8):
        response = api.get(f"/api/v1/checklist-items/?phase={phase.pk}")
    assert response.json()["count"] == 30


# -- memberships ---------------------------------------------------------------------------------


def test_a_manager_adds_a_member_who_then_sees_the_project(client, alice, project_a):
    newcomer = UserFactory(username="nadia")
    client.force_login(newcomer)
    assert client.get(f"/api/v1/projects/{project_a.pk}/").status_code == 404
    client.force_login(alice)
    added = client.post(
        "/api/v1/memberships/",
        {"user": "nadia", "project": project_a.pk, "role": "contributor"},
        content_type="application/json",
    )
    assert added.status_code == 201, added.json()
    assert added.json()["programme"] is None
    again = client.post(
        "/api/v1/memberships/",
        {"user": "nadia", "project": project_a.pk, "role": "viewer"},
        content_type="application/json",
    )
    assert again.status_code == 400
    assert "already a member of the project" in str(again.json()["errors"])
    client.force_login(newcomer)
    assert client.get(f"/api/v1/projects/{project_a.pk}/").status_code == 200
    client.force_login(alice)
    membership_id = added.json()["id"]
    promoted = client.patch(
        f"/api/v1/memberships/{membership_id}/",
        {"role": "approver", "user": "alice"},  # the user is not changed by an edit
        content_type="application/json",
    )
    assert promoted.status_code == 200
    assert (promoted.json()["user"], promoted.json()["role"]) == ("nadia", "approver")
    assert client.delete(f"/api/v1/memberships/{membership_id}/").status_code == 204
    client.force_login(newcomer)
    assert client.get(f"/api/v1/projects/{project_a.pk}/").status_code == 404


def test_memberships_are_changed_by_the_projects_managers_only(client, bob, erin, oscar, project_a):
    client.force_login(bob)  # a contributor sees the members, changes none
    listed = client.get(f"/api/v1/memberships/?project={project_a.pk}").json()["results"]
    assert {row["user"] for row in listed} == {"bob"}
    refused = client.post(
        "/api/v1/memberships/",
        {"user": "bob", "project": project_a.pk, "role": "manager"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert client.delete(f"/api/v1/memberships/{listed[0]['id']}/").status_code == 403
    client.force_login(erin)  # a programme-wide executive: her role is granted by administrators
    own = client.get("/api/v1/memberships/?user=erin").json()["results"][0]
    assert (own["project"], own["programme"]) == (None, "platform-migrations")
    assert client.delete(f"/api/v1/memberships/{own['id']}/").status_code == 403
    client.force_login(oscar)  # another project's manager
    assert client.delete(f"/api/v1/memberships/{listed[0]['id']}/").status_code == 404


def test_a_project_keeps_a_manager(client, alice, bob, project_a):
    """The last manager can neither leave nor take another role (409); once someone else
    manages the project, they can."""
    client.force_login(alice)
    own = client.get(f"/api/v1/memberships/?project={project_a.pk}&user=alice").json()
    own_id = own["results"][0]["id"]
    left = client.delete(f"/api/v1/memberships/{own_id}/")
    assert left.status_code == 409
    assert left.json() == {
        "detail": f"alice is the last manager of {project_a.code}: make someone else its "
        "manager first."
    }
    demoted = client.patch(
        f"/api/v1/memberships/{own_id}/", {"role": "viewer"}, content_type="application/json"
    )
    assert demoted.status_code == 409
    assert project_a.memberships.get(user=alice).role == "manager"

    bobs = project_a.memberships.get(user=bob)
    promoted = client.patch(
        f"/api/v1/memberships/{bobs.pk}/", {"role": "manager"}, content_type="application/json"
    )
    assert promoted.status_code == 200
    assert client.delete(f"/api/v1/memberships/{own_id}/").status_code == 204


def test_a_programme_one_may_not_see_is_not_found_when_adding_a_project(client, alice, project_b):
    client.force_login(alice)
    response = client.post(
        "/api/v1/projects/",
        {"programme": project_b.programme.slug, "code": "NEW", "name": "New"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json() == {
        "detail": f"No programme {project_b.programme.slug} that you may see."
    }


def test_errors_of_no_one_field_and_of_query_parameters_read_as_such(client, bob, phase):
    client.force_login(bob)
    backwards = client.patch(
        f"/api/v1/phases/{phase.pk}/",
        {
            "baseline_start": "2027-03-01",
            "baseline_end": "2027-02-01",
            "version": phase.version,
        },
        content_type="application/json",
    )
    assert backwards.status_code == 400
    assert backwards.json()["errors"] == {
        "non_field_errors": ["The baseline end must not be before its start."]
    }
    bad_filter = client.get("/api/v1/phases/?project=not-a-number")
    assert bad_filter.status_code == 400
    assert bad_filter.json()["detail"] == "The request is not valid: correct the parameters named."
    assert "project" in bad_filter.json()["errors"]


def test_text_with_a_nul_character_is_refused_whole_and_a_written_backslash_is_not(
    client, bob, phase
):
    client.force_login(bob)
    url = f"/api/v1/phases/{phase.pk}/"
    body = json.dumps({"name": "Cut\x00over", "version": phase.version})  # sent as \u0000
    refused = client.patch(url, body, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Text may not contain NUL characters (\\u0000)."}
    phase.refresh_from_db()
    assert phase.name != "Cut\x00over"
    written = json.dumps({"name": "Cut\\u0000over", "version": phase.version})
    accepted = client.patch(url, written, content_type="application/json")
    assert accepted.status_code == 200, accepted.json()
    phase.refresh_from_db()
    assert phase.name == "Cut\\u0000over"
