from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import policy, time_zones, tokens
from accounts.forms import ApiTokenForm, SettingsForm


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def your_settings(request: HttpRequest) -> HttpResponse:
    """The user's own preferences: the time zone they read dates and times in."""
    chosen = time_zones.time_zone_chosen(request.user)
    form = SettingsForm(request.POST or None, initial={"time_zone": chosen})
    if request.method == "POST" and form.is_valid():
        time_zones.time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
        zone = time_zones.time_zone_of(request.user)
        time_zones.time_zone_remember(request, zone)
        messages.success(request, f"Saved: dates and times now show in {zone}.")
        return redirect("your-settings")
    if form.is_bound:
        form.show_saved(chosen)
    context = {"form": form, "now": timezone.now(), "zone": timezone.get_current_timezone_name()}
    return render(request, "accounts/settings.html", context, status=422 if form.is_bound else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's personal API tokens: make one (shown once, here), see when each was last
    used, revoke."""
    form = ApiTokenForm(request.POST or None)
    made = None
    if request.method == "POST" and form.is_valid():
        token, raw = tokens.api_token_create(user=request.user, name=form.cleaned_data["name"])
        made = {"token": token, "raw": raw}
        form = ApiTokenForm()
    context = {"form": form, "tokens": tokens.api_tokens_of(request.user), "made": made}
    return render(request, "accounts/api_tokens.html", context, status=201 if made else 200)


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = policy.get_api_token_for(request.user, pk)
    tokens.api_token_revoke(token=token)
    messages.success(
        request, f"Token “{token.name}” ({token.prefix}…) revoked: it no longer works."
    )
    return redirect("api-tokens")
