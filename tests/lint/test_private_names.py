"""The private-names contract: what it counts as importing another app's private name."""

from lint.private_names import private_imports


def test_a_private_name_of_another_app_is_found_with_its_line():
    source = "import json\nfrom gates.services import GENESIS, _entry_hash\n"
    assert private_imports("exchange.document", source) == [(2, "gates.services", "_entry_hash")]


def test_a_private_module_of_another_app_is_found():
    source = "from metrics._internal import reader\nimport gates._chain\n"
    assert private_imports("dashboards.views", source) == [
        (1, "metrics._internal", "_internal"),
        (2, "gates._chain", "gates._chain"),
    ]


def test_private_names_within_the_same_app_and_dunder_names_are_allowed():
    source = (
        "from gates.services import _entry_hash\n"
        "from gates import __version__\n"
        "from . import _helpers\n"
    )
    assert private_imports("gates.exchange", source) == []
