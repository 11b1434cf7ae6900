from django.db import models


class Price(models.Model):
    sku = models.CharField(max_length=32)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    refreshed_at = models.DateTimeField()


class Heartbeat(models.Model):
    slot = models.DateTimeField(unique=True)
