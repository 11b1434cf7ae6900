from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cronjobs", "0002_lock")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="run_requested",
            field=models.DateTimeField(
                blank=True,
                help_text="The next runcrons runs the job once, as forced.",
                null=True,
                verbose_name="run requested",
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="failing_since",
            field=models.DateTimeField(
                blank=True,
                help_text="Start of the current streak of failed slots.",
                null=True,
                verbose_name="failing since",
            ),
        ),
        migrations.CreateModel(
            name="Action",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("job_code", models.CharField(db_index=True, max_length=191, verbose_name="job")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("pause", "paused"),
                            ("resume", "resumed"),
                            ("unlock", "unlocked"),
                            ("run_now", "run requested"),
                        ],
                        max_length=16,
                        verbose_name="action",
                    ),
                ),
                ("at", models.DateTimeField(verbose_name="at")),
                ("actor", models.CharField(blank=True, max_length=255, verbose_name="by")),
                ("detail", models.TextField(blank=True, verbose_name="detail")),
            ],
            options={"verbose_name": "action", "verbose_name_plural": "actions", "ordering": ["-at", "-id"]},
        ),
    ]
