import pytest

from risks.scoring import Band, band_of, band_score_range, level_from


@pytest.mark.parametrize(
    ("word", "level"),
    [("Low", 2), ("medium", 3), ("High", 4), ("Critical", 5), ("4", 4), (" rare ", 1)],
)
def test_the_plans_words_map_onto_levels(word, level):
    assert level_from(word) == level


@pytest.mark.parametrize("bad", ["0", "6", "Medium-ish", ""])
def test_anything_else_is_refused_with_a_reason(bad):
    with pytest.raises(ValueError, match="is not a level"):
        level_from(bad)


def test_medium_probability_high_impact_is_a_high_risk():
    assert band_of(level_from("Medium") * level_from("High")) == Band.HIGH


def test_bands_follow_the_thresholds_in_settings(settings):
    settings.RISK_BAND_THRESHOLDS = {"medium": 4, "high": 9, "critical": 20}
    assert [band_of(score) for score in (3, 4, 8, 9, 19, 20)] == [
        Band.LOW,
        Band.MEDIUM,
        Band.MEDIUM,
        Band.HIGH,
        Band.HIGH,
        Band.CRITICAL,
    ]
    assert band_score_range("high") == (9, 19)
