"""KPI pages, the source form, test-now, manual values, the push API and the operations page."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tokens import api_token_create
from metrics.models import KPIStatus, Measurement, MetricSource
from tests.factories import KPIFactory, MeasurementFactory, MetricSourceFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def kpi(project_a):
    return KPIFactory(
        project=project_a, name="API p95 latency", unit="ms", kind="lagging", category="technical"
    )


def test_kpis_are_grouped_as_the_plans_group_them(client, victor, project_a, kpi):
    KPIFactory(
        project=project_a, name="Schema design completion", kind="leading", category="project"
    )
    KPIFactory(project=project_a, name="Data integrity", kind="counter", category="technical")
    client.force_login(victor)
    page = client.get(reverse("kpi-list", args=[project_a.pk])).content.decode()
    assert (
        page.index("Leading indicators")
        < page.index("Lagging indicators")
        < page.index("Counter-metrics")
    )
    assert "Schema design completion" in page and "API p95 latency" in page


def test_kpi_list_queries_do_not_grow_with_kpis(client, victor, project_a):
    client.force_login(victor)
    url = reverse("kpi-list", args=[project_a.pk])
    KPIFactory(project=project_a)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _ in range(10):
        MeasurementFactory(kpi=MetricSourceFactory(kpi=KPIFactory(project=project_a)).kpi)
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)


def test_kpi_page_charts_values_with_target_and_breaches(client, victor, kpi):
    now = timezone.now()
    for minutes, value in [(3, 420), (2, 520), (1, 450)]:
        MeasurementFactory(kpi=kpi, at=now - timedelta(minutes=minutes), value=value)
    client.force_login(victor)
    response = client.get(kpi.get_absolute_url())
    figure = response.context["figure"]
    assert [trace["name"] for trace in figure["data"]] == ["API p95 latency", "Breach"]
    assert figure["data"][1]["y"] == [520]
    assert any(shape.get("y0") == 500 for shape in figure["layout"]["shapes"])


def test_long_series_are_reduced_before_the_browser(client, bob, kpi):
    start = timezone.now() - timedelta(days=10)
    Measurement.objects.bulk_create(
        Measurement(kpi=kpi, at=start + timedelta(minutes=minute), value=minute % 97)
        for minute in range(6000)
    )
    client.force_login(bob)
    response = client.get(reverse("kpi-detail", args=[kpi.pk]))
    figure = response.context["figure"]
    lows, highs, averages = (trace["y"] for trace in figure["data"][:3])
    assert len(averages) <= 1000
    assert max(highs) == 96 and min(lows) == 0
    assert "reduced from 6000 measurements" in response.content.decode()


@pytest.mark.parametrize("chosen", ["1d", "7d", "30d", "90d", "1y", "all", "bogus", ""])
def test_every_chart_range_answers(client, bob, kpi, chosen):
    MeasurementFactory(kpi=kpi, at=timezone.now() - timedelta(days=200), value=400)
    MeasurementFactory(kpi=kpi, at=timezone.now() - timedelta(hours=2), value=450)
    client.force_login(bob)
    response = client.get(reverse("kpi-detail", args=[kpi.pk]), {"range": chosen})
    assert response.status_code == 200
    shown = len(response.context["figure"]["data"][0]["x"])
    assert shown == {"1d": 1, "7d": 1, "30d": 1, "90d": 1, "1y": 2, "all": 2}.get(chosen, 1)


def test_a_chart_spans_the_window_asked_for_however_few_values_it_holds(client, bob, kpi):
    """One value in a "30 days" chart was drawn over a few milliseconds; with no value at all
    the axis ran from -1 to 6."""
    client.force_login(bob)
    url = reverse("kpi-detail", args=[kpi.pk])
    empty = client.get(url, {"range": "30d"})
    assert empty.context["figure"] is None
    assert "No values in the last 30 days." in empty.content.decode()
    assert 'data-plotly-figure="kpi-figure"' not in empty.content.decode()

    MeasurementFactory(kpi=kpi, at=timezone.now() - timedelta(days=40), value=430)
    older = client.get(url, {"range": "30d"}).content.decode()
    assert "No values in the last 30 days. The latest is from" in older and "show all" in older

    one = MeasurementFactory(kpi=kpi, at=timezone.now() - timedelta(hours=3), value=450)
    start, end = client.get(url, {"range": "30d"}).context["figure"]["layout"]["xaxis"]["range"]
    shown = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    assert timedelta(days=30) - timedelta(minutes=1) < shown <= timedelta(days=30)

    Measurement.objects.exclude(pk=one.pk).delete()
    start, end = client.get(url, {"range": "all"}).context["figure"]["layout"]["xaxis"]["range"]
    start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
    assert start < one.at < end and end - start >= 2 * kpi.cadence


def test_a_value_entered_by_hand_is_recorded_and_judged(
    client, bob, kpi, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("kpi-value-enter", args=[kpi.pk]), {"value": "612", "note": "From the APM"}
        )
    assert response.status_code == 302
    measurement = Measurement.objects.get(kpi=kpi)
    assert (measurement.value, measurement.recorded_by, measurement.note) == (
        612,
        bob,
        "From the APM",
    )
    kpi.refresh_from_db()
    assert kpi.status == KPIStatus.BREACHED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"value": "fast"}, "Enter a number."),
        ({"value": "nan"}, "Enter a number."),
        ({"value": "1", "at": "2999-01-01T00:00"}, "cannot be in the future"),
    ],
)
def test_bad_hand_entered_values_are_refused_with_a_reason(client, bob, kpi, data, message):
    client.force_login(bob)
    response = client.post(reverse("kpi-value-enter", args=[kpi.pk]), data)
    assert response.status_code == 422 and message in response.content.decode()
    assert not Measurement.objects.filter(kpi=kpi).exists()


def test_the_source_form_validates_per_kind_and_never_shows_the_secret(client, alice, kpi):
    client.force_login(alice)
    url = reverse("kpi-source", args=[kpi.pk])
    bad = client.post(
        url, {"kind": "prometheus", "config": '{"query": "up"}', "interval": "00:01:00"}
    )
    assert bad.status_code == 422 and "&#x27;url&#x27; is required" in bad.content.decode()
    not_json = client.post(url, {"kind": "prometheus", "config": "{url:", "interval": "00:01:00"})
    assert "not valid JSON" in not_json.content.decode()
    good = client.post(
        url,
        {
            "kind": "http_json",
            "config": '{"url": "http://127.0.0.1:1/x", "json_path": "a", '
            '"secret_header": "Authorization"}',
            "secret": "Bearer hidden-token",
            "interval": "00:01:00",
            "is_active": "on",
        },
    )
    assert good.status_code == 302
    source = MetricSource.objects.get(kpi=kpi)
    assert source.secret == "Bearer hidden-token"
    assert "hidden-token" not in client.get(url).content.decode()
    assert "hidden-token" not in client.get(kpi.get_absolute_url()).content.decode()


def test_test_now_shows_the_value_or_the_exact_error(client, alice, kpi, http_server):
    url, _ = http_server
    source = MetricSourceFactory(
        kpi=kpi, kind="http_json", config={"url": f"{url}/json/ok", "json_path": "data.p95_ms"}
    )
    client.force_login(alice)
    ok = client.post(reverse("kpi-source-test", args=[kpi.pk]), **HTMX)
    assert "Fetched now: <strong>420.5 ms</strong>" in ok.content.decode()
    source.config = {"url": f"{url}/not-json", "json_path": "a"}
    source.save()
    failed = client.post(reverse("kpi-source-test", args=[kpi.pk]), **HTMX)
    assert "The test failed: The endpoint did not answer with JSON" in failed.content.decode()
    assert not Measurement.objects.exists()


def test_members_who_may_not_edit_cannot_touch_kpis(client, erin, kpi):
    client.force_login(erin)
    assert client.get(kpi.get_absolute_url()).status_code == 200
    for name in ("kpi-edit", "kpi-source"):
        assert client.get(reverse(name, args=[kpi.pk])).status_code == 403
    assert client.post(reverse("kpi-value-enter", args=[kpi.pk]), {"value": "1"}).status_code == 403
    assert client.post(reverse("kpi-source-test", args=[kpi.pk])).status_code == 403


def test_non_members_get_404(client, oscar, kpi):
    client.force_login(oscar)
    assert client.get(kpi.get_absolute_url()).status_code == 404


# Push API


@pytest.fixture
def token(bob):
    return api_token_create(user=bob, name="CI pipeline")[1]


def push(client, token, data):
    return client.post(
        reverse("api-measurements"),
        data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_pipelines_push_a_batch_with_a_token(client, token, kpi):
    at = timezone.now().replace(microsecond=0)
    batch = [
        {"kpi": kpi.pk, "at": (at - timedelta(minutes=n)).isoformat(), "value": 400 + n}
        for n in range(3)
    ]
    response = push(client, token, batch)
    assert response.status_code == 201 and response.json() == {"created": 3, "already_recorded": 0}
    again = push(client, token, batch)
    assert again.status_code == 200 and again.json() == {"created": 0, "already_recorded": 3}
    assert Measurement.objects.filter(kpi=kpi).count() == 3


def test_a_bad_item_refuses_the_whole_batch(client, token, kpi):
    at = timezone.now().isoformat()
    response = push(
        client,
        token,
        [{"kpi": kpi.pk, "at": at, "value": 1}, {"kpi": kpi.pk, "at": "yesterday", "value": "x"}],
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]["1"]) == {"at", "value"}
    assert not Measurement.objects.exists()


def test_a_changed_value_for_a_recorded_moment_is_refused(client, token, kpi):
    at = timezone.now().isoformat()
    push(client, token, {"kpi": kpi.pk, "at": at, "value": 1})
    response = push(client, token, [{"kpi": kpi.pk, "at": at, "value": 2}])
    assert response.status_code == 409
    assert "measurements are not changed" in response.json()["errors"]["0"]["value"][0]


def test_pushing_needs_a_token_and_edit_rights(client, kpi, erin):
    at = timezone.now().isoformat()
    assert push(client, "wrong", {"kpi": kpi.pk, "at": at, "value": 1}).status_code == 401
    viewer_token = api_token_create(user=erin, name="Reports")[1]
    assert push(client, viewer_token, {"kpi": kpi.pk, "at": at, "value": 1}).status_code == 403
    assert push(client, viewer_token, {"kpi": 999999, "at": at, "value": 1}).status_code == 400
    assert not Measurement.objects.exists()


# Operations


def test_operations_page_is_for_staff_and_shows_failing_sources(client, alice, victor, kpi):
    MetricSourceFactory(
        kpi=kpi,
        kind="http_json",
        config={"url": "http://127.0.0.1:9/", "json_path": "a"},
        health="failing",
        consecutive_failures=4,
        last_error="Could not connect",
        next_due_at=timezone.now() - timedelta(minutes=5),
    )
    client.force_login(victor)
    assert client.get(reverse("operations")).status_code == 403
    client.force_login(alice)
    page = client.get(reverse("operations")).content.decode()
    assert "Could not connect" in page and 'id="queue-depth"' in page


def test_kpi_forms_come_as_a_page_or_a_fragment_and_save_with_htmx(client, alice, project_a):
    client.force_login(alice)
    url = reverse("kpi-create", args=[project_a.pk])
    assert "<html" in client.get(url).content.decode()
    assert "<html" not in client.get(url, **HTMX).content.decode()
    bad = client.post(url, {"name": "", "kind": "lagging", "category": "technical"}, **HTMX)
    assert bad.status_code == 422 and "This field is required." in bad.content.decode()
    data = {
        "name": "API p99 latency",
        "kind": "lagging",
        "category": "technical",
        "unit": "ms",
        "comparator": "lt",
        "target_value": "1000",
        "cadence": "00:05:00",
    }
    saved = client.post(url, data, **HTMX)
    kpi = project_a.kpis.get(name="API p99 latency")
    assert saved.status_code == 200 and saved["HX-Redirect"] == kpi.get_absolute_url()
    between = client.post(
        reverse("kpi-edit", args=[kpi.pk]),
        {**data, "comparator": "between", "target_value": "900", "target_value_high": "100"},
        **HTMX,
    )
    assert between.status_code == 422 and "low &lt; high" in between.content.decode()


def test_the_kpi_form_sets_how_a_new_status_is_confirmed_and_explains_bad_input(client, alice, kpi):
    client.force_login(alice)
    url = reverse("kpi-edit", args=[kpi.pk])
    data = {
        "name": kpi.name,
        "kind": "lagging",
        "category": "technical",
        "unit": "ms",
        "comparator": "lt",
        "target_value": "500",
        "cadence": "1 00:00:00",
    }
    form = client.get(url, **HTMX).content.decode()
    assert 'name="confirm_readings"' in form and 'name="confirm_after"' in form
    bad = client.post(url, {**data, "confirm_readings": "0", "confirm_after": "soon"}, **HTMX)
    page = bad.content.decode()
    assert bad.status_code == 422
    assert "At least 1 reading (1 changes the status at once)." in page
    assert "Write a duration such as &#x27;15 minutes&#x27; or &#x27;1 day&#x27;." in page
    kpi.refresh_from_db()
    assert (kpi.confirm_readings, kpi.confirm_after) == (2, None)

    saved = client.post(
        url, {**data, "confirm_readings": "3", "confirm_after": "15 minutes"}, **HTMX
    )
    assert saved.status_code == 200
    kpi.refresh_from_db()
    assert (kpi.confirm_readings, kpi.confirm_after) == (3, timedelta(minutes=15))
    detail = client.get(kpi.get_absolute_url()).content.decode()
    assert "Once 3 readings in a row agree, or the new status holds for 15 minutes" in detail


def test_a_kpi_cadence_is_entered_and_shown_in_words(client, alice, kpi):
    client.force_login(alice)
    url = reverse("kpi-edit", args=[kpi.pk])
    form = client.get(url, **HTMX).content.decode()
    assert 'value="1 day"' in form and "0:00:00" not in form
    data = {"name": kpi.name, "kind": "lagging", "category": "technical", "unit": "ms"}
    saved = client.post(url, {**data, "cadence": "every 2 hours"}, **HTMX)
    assert saved.status_code == 200
    kpi.refresh_from_db()
    assert kpi.cadence == timedelta(hours=2)
    page = client.get(kpi.get_absolute_url()).content.decode()
    assert "Expected every</dt><dd>2 hours</dd>" in page


def test_a_cadence_that_cannot_be_read_is_refused_and_nothing_is_lost(client, alice, kpi):
    client.force_login(alice)
    data = {"name": "Renamed", "kind": "lagging", "category": "technical", "cadence": "daily-ish"}
    refused = client.post(reverse("kpi-edit", args=[kpi.pk]), data, **HTMX)
    page = refused.content.decode()
    assert refused.status_code == 422
    assert "Write a duration such as &#x27;15 minutes&#x27; or &#x27;1 day&#x27;." in page
    assert 'value="daily-ish"' in page and 'value="Renamed"' in page
    kpi.refresh_from_db()
    assert kpi.name == "API p95 latency" and kpi.cadence == timedelta(days=1)


def test_a_source_interval_is_entered_and_shown_in_words(client, alice, kpi):
    client.force_login(alice)
    url = reverse("kpi-source", args=[kpi.pk])
    config = '{"url": "http://127.0.0.1:9090", "query": "up"}'
    data = {"kind": "prometheus", "config": config, "interval": "90", "is_active": "on"}
    saved = client.post(url, data)
    assert saved.status_code == 302
    source = MetricSource.objects.get(kpi=kpi)
    assert source.interval == timedelta(minutes=90)
    assert 'value="1 hour 30 minutes"' in client.get(url, **HTMX).content.decode()
    page = client.get(kpi.get_absolute_url()).content.decode()
    assert "<dt>Every</dt><dd>1 hour 30 minutes</dd>" in page
