from django.apps import AppConfig


class CoreConfig(AppConfig):
    """No models: installed for its template filters."""

    name = "core"
