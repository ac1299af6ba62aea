"""The admin addresses of models that moved out of the projects app lead to their new ones."""

import pytest

from config.urls import MOVED_ADMIN


@pytest.mark.django_db
@pytest.mark.parametrize("model", sorted(MOVED_ADMIN))
def test_an_old_admin_address_leads_to_the_new_one(client, superuser, model):
    client.force_login(superuser)
    old = client.get(f"/admin/projects/{model}/?o=1")
    new = f"/admin/{MOVED_ADMIN[model]}/{model}/?o=1"
    assert old.status_code == 301 and old["Location"] == new
    assert client.get(new).status_code == 200


@pytest.mark.django_db
def test_the_projects_own_models_stay_where_they_were(client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/projects/project/").status_code == 200
