"""The project's configuration: settings from the environment, URLs, the Celery app, WSGI and
ASGI. It may import every app; no app imports it."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
