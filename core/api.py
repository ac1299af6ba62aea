"""The API's shared conventions: one error body, and the routes of every app under /api/v1/.

Errors read `{"detail": "...", "errors": {"field": ["message", ...]}}`: `detail` says what
happened in a sentence, `errors` (on validation) names each field that was wrong and why."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as ModelValidationError
from django.urls import register_converter
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler

WRITES = ("create", "update", "partial_update", "destroy")
ID_DIGITS = 18  # ids beyond this many digits are no row's (the database holds 63-bit ids)


class IdConverter:
    """An object's id in a path: a whole number a row could have (typed `integer` in the
    schema); anything else is no route, a 404."""

    regex = f"[0-9]{{1,{ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")

MAX_ID = 10**ID_DIGITS - 1


class ObjectId(serializers.IntegerField):
    """An object's id in a body: a whole number a row could have, else a 400 naming it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class _AmongVisible:
    """A related object looked up among those the user may see (`among(user)`, a policy
    function): any other is not found (404), as on the pages, whether it exists or not.
    Whether they may change it is the view's to say."""

    def __init__(self, *, among, **kwargs):
        self.among = among
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.among(self.context["request"].user)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if getattr(error, "detail", None) and any(
                getattr(detail, "code", "") == "does_not_exist" for detail in error.detail
            ):
                raise exceptions.NotFound(
                    f"No {self.field_name} {data} that you may see."
                ) from None
            raise


class RelatedObject(_AmongVisible, serializers.PrimaryKeyRelatedField):
    """A related object by its id, checked to be a possible id, then looked up among those
    the user may see."""

    def __init__(self, *, among, **kwargs):
        kwargs.setdefault("pk_field", ObjectId())
        super().__init__(among=among, **kwargs)


class RelatedSlug(_AmongVisible, serializers.SlugRelatedField):
    """A related object by its slug, looked up among those the user may see."""


def writes_that_may_conflict(serializer, description: str, actions=WRITES) -> dict:
    """`extend_schema_view` arguments: a viewset's writes answered as usual, or with a 409
    (`description` says when)."""
    conflict = OpenApiResponse(description=description)
    usual = {"create": {201: serializer}, "destroy": {204: None}}
    return {
        name: extend_schema(responses={**usual.get(name, {200: serializer}), 409: conflict})
        for name in actions
    }


class Conflict(exceptions.APIException):
    """Not possible in the object's current state; nothing changed."""

    status_code = 409
    default_detail = "Not possible in the object's current state; nothing changed."
    default_code = "conflict"


def api_exception_handler(error, context):
    """One error body for every answer: `detail`, and on a validation error `errors` by
    field, errors of no one field under `non_field_errors` (as DRF names them)."""
    if isinstance(error, ModelValidationError):  # from a model's full_clean in a service
        messages = error.message_dict if hasattr(error, "error_dict") else {}
        if not hasattr(error, "error_dict"):
            messages = {"non_field_errors": error.messages}
        if NON_FIELD_ERRORS in messages:
            messages["non_field_errors"] = messages.pop(NON_FIELD_ERRORS)
        error = exceptions.ValidationError(messages)
    response = exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, exceptions.ValidationError):
        errors = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        request = context.get("request")
        detail = (
            "The request is not valid: correct the parameters named."
            if request is not None and request.method in ("GET", "HEAD", "OPTIONS")
            else "Nothing was saved: correct the fields named."
        )
        response.data = {"detail": detail, "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response


# A serializer mixin: the fields named in `fixed_after_create` are set when an object is made
# and read-only when it is changed (the project a phase belongs to, a member's user). A
# comment, not a docstring: the schema would give it as every serializer's description.
class FixedAfterCreate:
    fixed_after_create: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            for name in self.fixed_after_create:
                self.fields[name].read_only = True


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What happened, in a sentence."},
        "errors": {
            "type": "object",
            "description": "On a validation error: the messages for each field named.",
            "additionalProperties": {},
        },
    },
    "required": ["detail"],
}
ERROR_ANSWERS = {
    "400": "The request was not valid; `errors` names each field and why. Nothing was saved.",
    "401": "No credentials, or a token that is unknown or revoked.",
    "403": "You may see this, but not do this to it.",
    "404": "No such object that you may see (a project you are not a member of is not found).",
    "429": "Too many requests with this token; wait as `Retry-After` says.",
}


ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def error_answers(result, generator, request, public):
    """Every operation documents the errors it may answer with, all in one body; a POST or
    PUT says that its body is required."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method in ("post", "put") and "requestBody" in operation:
                operation["requestBody"]["required"] = True  # every one of them needs its body
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_ANSWERS.items():
                responses.setdefault(code, {"description": description})
            for code, answer in responses.items():
                if int(code) >= 400:
                    answer.setdefault("content", ERROR_CONTENT)
    return result


class IdFilter(filters.NumberFilter):
    """An object's id: a whole number a row could have, else a 400 naming the filter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 10**ID_DIGITS - 1)
        super().__init__(*args, **kwargs)
