"""Notifications, API tokens, the outbox and the status snapshots and report subscriptions now
belong to their own apps: their tables stay, under the same names."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('core', '0001_initial'),
        ('dashboards', '0001_initial'),
        ('notifications', '0001_initial'),
        ('projects', '0011_outbox_tasks'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='apitoken',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='notificationmute',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='OutboxTask',
                ),
                migrations.RemoveField(
                    model_name='statusreportdelivery',
                    name='subscription',
                ),
                migrations.RemoveField(
                    model_name='statusreportsubscription',
                    name='programme',
                ),
                migrations.RemoveField(
                    model_name='statusreportsubscription',
                    name='project',
                ),
                migrations.RemoveField(
                    model_name='statusreportsubscription',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='statussnapshot',
                    name='project',
                ),
                migrations.DeleteModel(
                    name='ApiToken',
                ),
                migrations.DeleteModel(
                    name='Notification',
                ),
                migrations.DeleteModel(
                    name='NotificationMute',
                ),
                migrations.DeleteModel(
                    name='StatusReportDelivery',
                ),
                migrations.DeleteModel(
                    name='StatusReportSubscription',
                ),
                migrations.DeleteModel(
                    name='StatusSnapshot',
                ),
            ],
            database_operations=[],
        ),
    ]
