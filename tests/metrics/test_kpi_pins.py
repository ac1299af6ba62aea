"""A person's pinned KPIs: kept once per person and KPI, and read first on their tiles only."""

import pytest

from metrics import selectors, services
from metrics.models import KPIPin, KPIStatus
from projects.models import Project
from tests.factories import KPIFactory

pytestmark = pytest.mark.django_db


def tile_names(project, user=None) -> list[tuple[str, bool]]:
    tiles = selectors.kpi_tiles(
        projects=Project.objects.filter(pk=project.pk), watch_only=False, limit=None, pinned_by=user
    )
    return [(tile.kpi.name, tile.pinned) for tile in tiles]


def test_pinning_twice_keeps_one_pin_and_unpinning_removes_it(alice, project_a):
    kpi = KPIFactory(project=project_a)
    services.kpi_pin_set(kpi=kpi, user=alice, pinned=True)
    services.kpi_pin_set(kpi=kpi, user=alice, pinned=True)
    assert KPIPin.objects.filter(kpi=kpi, user=alice).count() == 1
    services.kpi_pin_set(kpi=kpi, user=alice, pinned=False)
    services.kpi_pin_set(kpi=kpi, user=alice, pinned=False)  # unpinning an unpinned KPI: nothing
    assert not KPIPin.objects.exists()


def test_unpinning_leaves_another_persons_pin(alice, bob, project_a):
    kpi = KPIFactory(project=project_a)
    services.kpi_pin_set(kpi=kpi, user=alice, pinned=True)
    services.kpi_pin_set(kpi=kpi, user=bob, pinned=True)
    services.kpi_pin_set(kpi=kpi, user=alice, pinned=False)
    assert list(KPIPin.objects.values_list("user__username", flat=True)) == ["bob"]


def test_pinned_kpis_come_first_for_the_person_who_pinned_them_only(alice, bob, project_a):
    KPIFactory(project=project_a, name="Breached one", status=KPIStatus.BREACHED)
    KPIFactory(project=project_a, name="Calm one", status=KPIStatus.ON_TARGET)
    quiet = KPIFactory(project=project_a, name="Quiet one")
    services.kpi_pin_set(kpi=quiet, user=alice, pinned=True)
    assert tile_names(project_a, alice) == [
        ("Quiet one", True),
        ("Breached one", False),
        ("Calm one", False),
    ]
    unpinned = [("Breached one", False), ("Calm one", False), ("Quiet one", False)]
    assert tile_names(project_a, bob) == unpinned
    assert tile_names(project_a) == unpinned
