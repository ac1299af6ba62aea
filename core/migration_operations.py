"""Operations for migrations that move a model from one app to another and keep its table."""

from django.db import migrations


def content_types_move(models: list[str], *, from_app: str, to_app: str) -> migrations.RunPython:
    """Relabel the content types of `models` (lower-case model names) from `from_app` to
    `to_app`, so that admin history and permissions follow them (and back when unapplied)."""

    def relabel(apps, source: str, target: str) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        content_type.objects.filter(app_label=source, model__in=models).update(app_label=target)

    return migrations.RunPython(
        lambda apps, schema_editor: relabel(apps, from_app, to_app),
        lambda apps, schema_editor: relabel(apps, to_app, from_app),
    )
