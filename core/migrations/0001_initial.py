"""The core app's models were made by the projects app: their tables and rows stay where
they are (`db_table`); only Django's record of which app owns them moves, with the content
types that admin history and permissions point to."""

from django.db import migrations, models

from core.migration_operations import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('projects', '0011_outbox_tasks'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OutboxTask',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('task', models.CharField(help_text="The task's name, e.g. risks.tasks.…", max_length=200)),
                        ('args', models.JSONField(blank=True, default=list)),
                        ('queue', models.CharField(blank=True, help_text='Empty for the default.', max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('attempts', models.PositiveIntegerField(default=0, help_text='Resends the broker refused.')),
                        ('last_error', models.TextField(blank=True)),
                    ],
                    options={
                        'verbose_name': 'outbox task',
                        'db_table': 'projects_outboxtask',
                        'ordering': ['pk'],
                    },
                ),
            ],
            database_operations=[
                content_types_move(['outboxtask'], from_app="projects", to_app="core"),
            ],
        ),
    ]
