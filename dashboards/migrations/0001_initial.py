"""The dashboards app's models were made by the projects app: their tables and rows stay where
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
                    name='StatusReportSubscription',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('programme', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='projects.programme')),
                        ('project', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='projects.project')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='report_subscriptions', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'projects_statusreportsubscription',
                    },
                ),
                migrations.CreateModel(
                    name='StatusReportDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('week', models.DateField(help_text='The Monday of the week the report covers.')),
                        ('claimed_at', models.DateTimeField()),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='dashboards.statusreportsubscription')),
                    ],
                    options={
                        'db_table': 'projects_statusreportdelivery',
                    },
                ),
                migrations.CreateModel(
                    name='StatusSnapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('taken_on', models.DateField()),
                        ('rag', models.CharField(max_length=10)),
                        ('reasons', models.JSONField(blank=True, default=list)),
                        ('percent_complete', models.FloatField(blank=True, null=True)),
                        ('schedule_days', models.IntegerField(blank=True, null=True)),
                        ('budget_percent', models.FloatField(blank=True, null=True)),
                        ('kpis_breached', models.PositiveIntegerField(default=0)),
                        ('critical_risks', models.PositiveIntegerField(default=0)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='snapshots', to='projects.project')),
                    ],
                    options={
                        'db_table': 'projects_statussnapshot',
                        'ordering': ['project', '-taken_on'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='statusreportsubscription',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('programme__isnull', True), ('project__isnull', False)), models.Q(('programme__isnull', False), ('project__isnull', True)), _connector='OR'), name='report_subscription_programme_xor_project'),
                ),
                migrations.AddConstraint(
                    model_name='statusreportsubscription',
                    constraint=models.UniqueConstraint(condition=models.Q(('project__isnull', False)), fields=('user', 'project'), name='report_subscription_once_per_project'),
                ),
                migrations.AddConstraint(
                    model_name='statusreportsubscription',
                    constraint=models.UniqueConstraint(condition=models.Q(('programme__isnull', False)), fields=('user', 'programme'), name='report_subscription_once_per_programme'),
                ),
                migrations.AddConstraint(
                    model_name='statusreportdelivery',
                    constraint=models.UniqueConstraint(fields=('subscription', 'week'), name='status_report_once_per_week'),
                ),
                migrations.AddConstraint(
                    model_name='statussnapshot',
                    constraint=models.UniqueConstraint(fields=('project', 'taken_on'), name='status_snapshot_one_per_day'),
                ),
            ],
            database_operations=[
                content_types_move(['statussnapshot', 'statusreportsubscription', 'statusreportdelivery'], from_app="projects", to_app="dashboards"),
            ],
        ),
    ]
