from django.db import models


class Effect(models.Model):
    """One row per side effect of a test job: counting these proves how often a job ran."""

    job = models.CharField(max_length=100)
    slot = models.DateTimeField(null=True)
    pid = models.IntegerField(null=True)
    created = models.DateTimeField(auto_now_add=True)
