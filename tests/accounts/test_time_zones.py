"""Each person reads dates and times in their own time zone: chosen on "Your settings", kept
in the session, applied to every page, PDF and e-mailed report made for them."""

import io
import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import ApiToken, Profile
from accounts.time_zones import REREAD_SECONDS, SESSION_KEY, time_zone_set
from accounts.tokens import api_token_create
from dashboards import reports

pytestmark = pytest.mark.django_db

MADE_AT = datetime(2026, 12, 3, 8, 12, tzinfo=UTC)


@pytest.fixture
def token_of_alice(alice):
    token, _raw = api_token_create(user=alice, name="CI pipeline")
    ApiToken.objects.filter(pk=token.pk).update(created_at=MADE_AT)
    return token


def tokens_page(client) -> str:
    response = client.get(reverse("api-tokens"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_user_in_berlin_reads_moments_in_cet_and_one_without_a_choice_in_utc(
    client, alice, token_of_alice
):
    client.force_login(alice)
    assert "3 Dec 2026, 08:12 UTC" in tokens_page(client)
    time_zone_set(user=alice, time_zone="Europe/Berlin")
    client.force_login(alice)  # the zone is read at login
    page = tokens_page(client)
    assert "3 Dec 2026, 09:12 CET" in page
    assert "08:12 UTC" not in page


def test_the_zone_costs_no_query_per_request_or_moment_once_read(
    client, alice, bob, token_of_alice
):
    for _token in range(5):
        api_token_create(user=alice, name="Another")
    time_zone_set(user=alice, time_zone="Europe/Berlin")
    client.force_login(alice)
    with CaptureQueriesContext(connection) as in_berlin:
        assert "CET" in tokens_page(client)
    client.force_login(bob)  # no choice: the portal's zone
    with CaptureQueriesContext(connection) as in_utc:
        tokens_page(client)
    assert not [query for query in in_berlin if "accounts_profile" in query["sql"]]
    assert len(in_berlin) == len(in_utc)


def test_a_choice_made_in_another_browser_follows_within_a_minute(client, alice, token_of_alice):
    client.force_login(alice)
    assert "08:12 UTC" in tokens_page(client)
    time_zone_set(user=alice, time_zone="Asia/Tokyo")  # chosen elsewhere
    assert "08:12 UTC" in tokens_page(client)  # read less than a minute ago
    session = client.session
    zone, read_at = session[SESSION_KEY]
    session[SESSION_KEY] = [zone, read_at - REREAD_SECONDS]
    session.save()
    assert "3 Dec 2026, 17:12 JST" in tokens_page(client)


def test_the_settings_page_saves_a_zone_and_pages_show_it_at_once(client, alice, token_of_alice):
    client.force_login(alice)
    page = client.get(reverse("your-settings")).content.decode()
    assert '<label for="id_time_zone">Time zone</label>' in page
    assert '<option value="" selected>The portal&#x27;s time zone (UTC)</option>' in page
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in page
    assert 'href="/account/settings/" id="nav-settings">Your settings</a>' in page

    response = client.post(reverse("your-settings"), {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302 and response.url == reverse("your-settings")
    assert Profile.objects.get(user=alice).time_zone == "Europe/Berlin"
    page = client.get(reverse("your-settings")).content.decode()
    assert "Saved: dates and times now show in Europe/Berlin." in page
    assert '<option value="Europe/Berlin" selected>' in page
    assert re.search(r'id="time-now">\d+ \w+ \d{4}, \d\d:\d\d CES?T<', page)
    assert "3 Dec 2026, 09:12 CET" in tokens_page(client)

    client.post(reverse("your-settings"), {"time_zone": ""})  # back to the portal's
    assert Profile.objects.get(user=alice).time_zone == ""
    assert "3 Dec 2026, 08:12 UTC" in tokens_page(client)


def test_an_unknown_zone_is_refused_beside_the_field_and_the_saved_one_stays(client, alice):
    time_zone_set(user=alice, time_zone="Europe/Berlin")
    client.force_login(alice)
    response = client.post(reverse("your-settings"), {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    page = response.content.decode()
    assert '<p class="field has-error">' in page
    assert (
        '<span class="field-error" id="id_time_zone_error">Choose a time zone from the list: '
        "“Mars/Olympus_Mons” is not one this portal knows.</span>"
    ) in page
    # The saved choice is what the list still shows, and what the pages still use.
    assert '<option value="Europe/Berlin" selected>' in page
    assert "<h1>Your settings</h1>" in page and 'id="nav-settings"' in page
    assert Profile.objects.get(user=alice).time_zone == "Europe/Berlin"
    assert re.search(r'id="time-now">[^<]* CES?T<', page)


def test_the_settings_page_offers_the_browsers_zone_only_through_its_script(client, alice):
    client.force_login(alice)
    page = client.get(reverse("your-settings")).content.decode()
    assert '<button type="button" data-browser-time-zone hidden>' in page
    assert "<script>" not in page


def test_a_pdf_downloaded_in_berlin_reads_its_times_in_cet(client, erin, programme, project_a):
    time_zone_set(user=erin, time_zone="Europe/Berlin")
    client.force_login(erin)
    response = client.get(reverse("programme-report-pdf", args=[programme.slug]))
    assert response.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert re.search(r"\d\d:\d\d CES?T", text), text[:300]


def test_the_weekly_report_is_e_mailed_in_each_readers_zone(
    erin, alice, programme, project_a, django_assert_max_num_queries
):
    erin.email, alice.email = "erin@example.com", "alice@example.com"
    erin.save()
    alice.save()
    time_zone_set(user=erin, time_zone="Europe/Berlin")
    reports.report_subscription_set(user=erin, programme=programme, subscribed=True)
    reports.report_subscription_set(user=alice, project=project_a, subscribed=True)
    assert reports.status_reports_send(now=MADE_AT) == 2
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert "3 Dec 2026 09:12 CET" in by_recipient["erin@example.com"].body
    assert "3 Dec 2026 09:12 CET" in by_recipient["erin@example.com"].alternatives[0][0]
    assert "3 Dec 2026 08:12 UTC" in by_recipient["alice@example.com"].body
