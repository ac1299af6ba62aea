from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project package as an app: it connects the login, lockout and session signals."""

    name = "config"
    label = "waymark_config"

    def ready(self):
        from config import request_context, sessions  # noqa: F401  (signal receivers)
