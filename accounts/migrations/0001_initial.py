"""The accounts app's models were made by the projects app: their tables and rows stay where
they are (`db_table`); only Django's record of which app owns them moves, with the content
types that admin history and permissions point to."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_operations import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('projects', '0011_outbox_tasks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(help_text="What uses it, e.g. 'CI pipeline'.", max_length=100)),
                        ('prefix', models.CharField(help_text='Tells tokens apart.', max_length=16, unique=True)),
                        ('digest', models.CharField(max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'API token',
                        'db_table': 'projects_apitoken',
                        'ordering': ['-created_at', '-pk'],
                    },
                ),
            ],
            database_operations=[
                content_types_move(['apitoken'], from_app="projects", to_app="accounts"),
            ],
        ),
    ]
