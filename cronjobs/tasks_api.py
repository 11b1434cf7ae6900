"""Django's Tasks API as this Django has it: ``django.tasks`` on Django 6, the ``django-tasks`` backport before.

Used by the tasks app (:mod:`cronjobs.tasks`) and by jobs that hand their work to a Tasks backend
(:mod:`cronjobs.engine.handoff`), which must not depend on that app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the types are django-stubs' django.tasks, which the backport mirrors
    from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task, task_backends
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import TaskError
    from django.tasks.exceptions import InvalidTask as InvalidTaskError
    from django.tasks.exceptions import TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued, task_finished, task_started
else:
    try:  # Django 6.0+
        from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task, task_backends
        from django.tasks.backends.base import BaseTaskBackend
        from django.tasks.base import TaskError
        from django.tasks.exceptions import InvalidTask as InvalidTaskError
        from django.tasks.exceptions import TaskResultDoesNotExist
        from django.tasks.signals import task_enqueued, task_finished, task_started
    except ImportError:  # Django < 6: the backport
        from django_tasks import TaskContext, TaskResult, TaskResultStatus, task, task_backends
        from django_tasks.backends.base import BaseTaskBackend
        from django_tasks.base import Task, TaskError
        from django_tasks.exceptions import InvalidTaskError, TaskResultDoesNotExist
        from django_tasks.signals import task_enqueued, task_finished, task_started

__all__ = [
    "OPTIONS_ATTRIBUTE",
    "BaseTaskBackend",
    "InvalidTaskError",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
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
