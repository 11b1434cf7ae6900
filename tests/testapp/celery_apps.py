"""Celery apps for the check of cronjobs.tasks.celery's result backend (nothing connects)."""

from celery import Celery

#: Results over AMQP (RPC): they cannot keep the task records get_result() reads.
rpc_results = Celery("cronjobs-tests-rpc", backend="rpc://", broker="memory://")
#: Results in Redis: a key-value store.
redis_results = Celery("cronjobs-tests-redis", backend="redis://127.0.0.1:6379/15", broker="memory://")
