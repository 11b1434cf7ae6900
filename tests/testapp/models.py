from django.db import models


class Effect(models.Model):
    """One row per side effect of a test job: counting these proves how often a job ran."""

    job = models.CharField(max_length=100)
    slot = models.DateTimeField(null=True)
    pid = models.IntegerField(null=True)
    created = models.DateTimeField(auto_now_add=True)


#: A query that takes a minute on each vendor; SQLite's is an endless recursive CTE.
SLOW_QUERY = {
    "postgresql": "SELECT pg_sleep(60)",
    "mysql": "SELECT SLEEP(60)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c",
}


def run_slow_query() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SLOW_QUERY[connection.vendor])
        cursor.fetchall()
