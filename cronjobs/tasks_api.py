"""Django's Tasks API as this Django has it: ``django.tasks`` on Django 6, the ``django-tasks`` backport on 5.2.

Chosen by Django's version, never by what happens to be importable: on Django 6 the built-in
``django.tasks`` is the only one used, even when the backport is installed too, so that tasks,
results, exceptions and signals are all of one framework (the one a project's own
``from django.tasks import task`` gets). On Django 5.2 the backport comes with the ``tasks``
extra: ``pip install "cronjobs[tasks]"``.

Used by the tasks app (:mod:`cronjobs.tasks`) and by jobs that hand their work to a Tasks backend
(:mod:`cronjobs.engine.handoff`), which must not depend on that app. Import the classes from
here, not from either framework, to get the active one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import django

#: Whether Django has the Tasks API built in (``django.tasks``, Django 6.0+).
BUILT_IN = django.VERSION >= (6, 0)

if TYPE_CHECKING:  # the types are django-stubs' django.tasks, which the backport mirrors
    from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task, task_backends
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import TaskError
    from django.tasks.exceptions import InvalidTask as InvalidTaskError
    from django.tasks.exceptions import InvalidTaskBackend as InvalidTaskBackendError
    from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
    from django.tasks.signals import task_enqueued, task_finished, task_started
elif BUILT_IN:
    from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task, task_backends
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import TaskError
    from django.tasks.exceptions import InvalidTask as InvalidTaskError
    from django.tasks.exceptions import InvalidTaskBackend as InvalidTaskBackendError
    from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
    from django.tasks.signals import task_enqueued, task_finished, task_started
else:
    try:
        import django_tasks  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"Django {django.get_version()} has no Tasks API of its own (django.tasks comes with Django 6.0): "
            'install the django-tasks backport with pip install "cronjobs[tasks]", or upgrade Django.'
        ) from exc
    from django_tasks import TaskContext, TaskResult, TaskResultStatus, task, task_backends
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.exceptions import (
        InvalidTaskBackendError,
        InvalidTaskError,
        TaskResultDoesNotExist,
        TaskResultMismatch,
    )
    from django_tasks.signals import task_enqueued, task_finished, task_started

__all__ = [
    "BUILT_IN",
    "OPTIONS_ATTRIBUTE",
    "BaseTaskBackend",
    "InvalidTaskBackendError",
    "InvalidTaskError",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultMismatch",
    "TaskResultStatus",
    "task",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]

#: The attribute of a task function where :func:`cronjobs.tasks.task_options` keeps its options
#: (a dict of ``OPTIONS`` keys): here so that the engine's hand-off can set them without the app.
OPTIONS_ATTRIBUTE = "_cronjobs_task_options"
