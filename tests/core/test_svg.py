"""Server-drawn SVG pictures: round axis values, and every text escaped."""

import pytest

from core import svg


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (400, 500, [400, 450, 500]),
        (410, 480, [400, 425, 450, 475, 500]),
        (0.2, 0.9, [0, 0.25, 0.5, 0.75, 1]),
        (7, 7, [6, 6.5, 7, 7.5, 8]),  # one value: a little either side
        (0, 0, [-1, 0, 1]),
        (-30, 12, [-40, -20, 0, 20]),
        (500, 400, [400, 450, 500]),
    ],
)
def test_an_axis_is_labelled_with_round_values_around_its_range(low, high, ticks):
    assert svg.nice_ticks(low, high) == ticks


def test_coordinates_read_short():
    assert [svg.coordinate(value) for value in (12.0, 12.34, -0.01, 7.96)] == [
        "12",
        "12.3",
        "0",
        "8",
    ]


def test_a_picture_is_an_image_read_out_in_words_with_its_text_escaped():
    picture = svg.picture(
        width=100,
        height=50,
        label='Reads & "writes" <p95>',
        parts=[svg.text(1, 2, "<b>bold</b> & more", anchor="end", fill="#5b6475")],
        css_class="trend",
    )
    assert picture.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="trend" role="img"')
    assert 'aria-label="Reads &amp; &quot;writes&quot; &lt;p95&gt;"' in picture
    assert "<title>Reads &amp; &quot;writes&quot; &lt;p95&gt;</title>" in picture
    assert (
        '<text x="1" y="2" font-size="10" text-anchor="end" fill="#5b6475">'
        "&lt;b&gt;bold&lt;/b&gt; &amp; more</text>"
    ) in picture
    assert 'viewBox="0 0 100 50"' in picture
