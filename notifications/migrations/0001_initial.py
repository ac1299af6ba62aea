"""The notifications app's models were made by the projects app: their tables and rows stay where
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
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('risk_escalated', 'Risk escalated'), ('risk_review_overdue', 'Risk review overdue'), ('kpi_breached', 'KPI breached'), ('kpi_recovered', 'KPI back on target'), ('source_failing', 'Metric source failing'), ('gate_decided', 'Gate decided'), ('signature_invalidated', 'Signature invalidated'), ('rollback_recommended', 'Rollback recommended')], max_length=40)),
                        ('title', models.CharField(max_length=300)),
                        ('body', models.TextField(blank=True)),
                        ('url', models.CharField(blank=True, max_length=500)),
                        ('dedupe_key', models.CharField(help_text='The same key is never notified to the same user twice.', max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('read_at', models.DateTimeField(blank=True, null=True)),
                        ('emailed_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'projects_notification',
                        'ordering': ['-created_at', '-pk'],
                        'indexes': [models.Index(condition=models.Q(('read_at__isnull', True)), fields=['user', 'created_at'], name='notification_unread')],
                        'constraints': [models.UniqueConstraint(fields=('user', 'dedupe_key'), name='notification_once_per_user_and_key')],
                    },
                ),
                migrations.CreateModel(
                    name='NotificationMute',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('risk_escalated', 'Risk escalated'), ('risk_review_overdue', 'Risk review overdue'), ('kpi_breached', 'KPI breached'), ('kpi_recovered', 'KPI back on target'), ('source_failing', 'Metric source failing'), ('gate_decided', 'Gate decided'), ('signature_invalidated', 'Signature invalidated'), ('rollback_recommended', 'Rollback recommended')], max_length=40)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notification_mutes', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'projects_notificationmute',
                        'constraints': [models.UniqueConstraint(fields=('user', 'kind'), name='notification_mute_once')],
                    },
                ),
            ],
            database_operations=[
                content_types_move(['notification', 'notificationmute'], from_app="projects", to_app="notifications"),
            ],
        ),
    ]
