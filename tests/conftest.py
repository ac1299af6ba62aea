"""Shared fixtures: personas as the house style names them.

alice manages project A; bob contributes to A; carol approves on A; erin is an executive of
A's programme; victor views A; oscar is an outsider, a manager of project B only.
"""

import pytest

from tests.factories import MembershipFactory, ProgrammeFactory, ProjectFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def programme(db):
    return ProgrammeFactory(name="Platform Migrations", slug="platform-migrations")


@pytest.fixture
def project_a(programme):
    return ProjectFactory(programme=programme, code="A", name="Provider API")


@pytest.fixture
def project_b(db):
    return ProjectFactory(code="B", name="Billing ledger")


@pytest.fixture
def alice(project_a):
    user = UserFactory(username="alice", is_staff=True)
    MembershipFactory(user=user, project=project_a, role="manager")
    return user


@pytest.fixture
def bob(project_a):
    user = UserFactory(username="bob", is_staff=True)
    MembershipFactory(user=user, project=project_a, role="contributor")
    return user


@pytest.fixture
def carol(project_a):
    user = UserFactory(username="carol")
    MembershipFactory(user=user, project=project_a, role="approver")
    return user


@pytest.fixture
def erin(programme, project_a):
    user = UserFactory(username="erin")
    MembershipFactory(user=user, project=None, programme=programme, role="executive")
    return user


@pytest.fixture
def victor(project_a):
    user = UserFactory(username="victor")
    MembershipFactory(user=user, project=project_a, role="viewer")
    return user


@pytest.fixture
def oscar(project_b):
    user = UserFactory(username="oscar", is_staff=True)
    MembershipFactory(user=user, project=project_b, role="manager")
    return user


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)
