"""Who a request's user is, and how a person is named wherever the portal shows one."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# A request's user: a person with an account, or the anonymous visitor.
User = AbstractBaseUser | AnonymousUser
NOBODY = "—"
PORTAL = "Waymark"  # who did what no person did: imports, scheduled work, the system


def display_name(user, default: str = NOBODY) -> str:
    """The person's full name, else their username; `default` when there is no person (none
    given, or the account was deleted): PORTAL where the portal acted itself."""
    if user is None:
        return default
    return user.get_full_name().strip() or user.get_username()
