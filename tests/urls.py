from django.contrib import admin
from django.urls import path

from cronjobs.ops.metrics import metrics_view

urlpatterns = [path("admin/", admin.site.urls), path("cron/metrics", metrics_view)]
