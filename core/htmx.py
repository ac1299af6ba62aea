"""htmx answers, one way everywhere: a fragment for htmx or a whole page for a plain request,
and a redirect after a save that htmx follows too (django-htmx's response classes)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event


def fragment_or_page(
    request: HttpRequest,
    page: str,
    partial: str,
    context: dict,
    *,
    status: int = 200,
    form_page: str = "",
    title: str = "",
) -> HttpResponse:
    """For htmx, the partial `partial` of `page`. For a plain request, `form_page` (a page that
    holds just that partial, headed `title`) when given, else `page` itself with `shown` naming
    the partial it should open."""
    if request.htmx:
        return render(request, f"{page}#{partial}", context, status=status)
    if form_page:
        context = {**context, "partial": f"{page}#{partial}", "title": title}
        return render(request, form_page, context, status=status)
    return render(request, page, {**context, "shown": partial}, status=status)


def redirect_after_save(request: HttpRequest, url: str) -> HttpResponse:
    """After a save: htmx loads `url` as a whole page (HX-Redirect), a plain form is redirected."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def focus_after_swap(response: HttpResponse, element_id: str) -> HttpResponse:
    """Ask the page to move keyboard focus to `element_id` once the swap has settled."""
    return trigger_client_event(response, "focusElement", {"id": element_id}, after="settle")


def form_again(request: HttpRequest, response: HttpResponse, element_id: str) -> HttpResponse:
    """A form answered with its errors replaces only itself (`element_id`), whatever its
    hx-target says for a save: the page around it, and what was typed, stay."""
    if request.htmx:
        reswap(retarget(response, f"#{element_id}"), "outerHTML")
    return response
