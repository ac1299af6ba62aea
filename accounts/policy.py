"""Who may see and revoke an API token: its owner alone."""

from django.http import Http404

from accounts.models import ApiToken
from core.people import User


def get_api_token_for(user: User, pk: int) -> ApiToken:
    """One of the user's own API tokens: anyone else's does not exist for them (404)."""
    token = ApiToken.objects.filter(user=user, pk=pk).first() if user.is_active else None
    if token is None:
        raise Http404("No such token of yours.")
    return token
