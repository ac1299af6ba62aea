from django.conf import settings

from demo.loader import DEMO_PASSWORD, demo_logins


def demo_login_hint(request) -> dict:
    """For the login page of a portal running the demo with DEBUG on: the demo users whose
    password is the documented one, and that password. Read only where a template asks
    (`demo_logins` is called then), and never with DEBUG off."""
    if not settings.DEBUG:
        return {}
    return {"demo_logins": demo_logins, "demo_password": DEMO_PASSWORD}
