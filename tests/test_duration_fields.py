"""Every duration a person enters on the site, in its pages or the admin, is read and shown in
words by the one field of core.forms."""

from importlib import import_module

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.test import RequestFactory

from core.forms import DurationWordsField
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _ours(cls) -> bool:
    return any(
        cls.__module__.startswith(config.name + ".")
        for config in apps.get_app_configs()
        if config.path.startswith(str(settings.BASE_DIR))
    )


def _duration_fields(model) -> set[str]:
    return {field.name for field in model._meta.fields if isinstance(field, models.DurationField)}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_model_form_of_the_site_reads_durations_in_words():
    import_module(settings.ROOT_URLCONF)
    checked = []
    for form_class in _subclasses(forms.ModelForm):
        meta = getattr(form_class, "Meta", None)
        if not _ours(form_class) or not getattr(meta, "model", None):
            continue
        for name in _duration_fields(meta.model) & set(form_class.base_fields):
            field = form_class.base_fields[name]
            assert isinstance(field, DurationWordsField), f"{form_class.__name__}.{name}"
            checked.append(name)
    assert {"cadence", "interval"} <= set(checked)


def test_every_admin_form_reads_durations_in_words():
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    checked = []
    for model, model_admin in admin.site._registry.items():
        formsets = [
            (model, model_admin.get_form(request)),
            *(
                (inline.model, inline.get_formset(request).form)
                for inline in model_admin.get_inline_instances(request)
            ),
        ]
        for form_model, form_class in formsets:
            for name in _duration_fields(form_model) & set(form_class.base_fields):
                field = form_class.base_fields[name]
                assert isinstance(field, DurationWordsField), f"{model.__name__}: {name}"
                assert isinstance(field.widget, type(DurationWordsField.widget()))
                checked.append((form_model.__name__, name))
    assert {("KPI", "cadence"), ("MetricSource", "interval")} <= set(checked)
