"""A router that keeps cronjobs' tables (runs, locks, tasks) on a database of their own."""

APPS = {"cronjobs", "cronjobs_tasks"}


class CronjobsRouter:
    def db_for_read(self, model, **hints):
        return "cronjobs" if model._meta.app_label in APPS else None

    def db_for_write(self, model, **hints):
        return "cronjobs" if model._meta.app_label in APPS else None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, **hints):
        return (db == "cronjobs") == (app_label in APPS)
