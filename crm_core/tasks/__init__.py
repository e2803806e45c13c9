"""The benchmark's tasks over the org: one module per task type (:mod:`crm_core.tasks.types`,
collected by :mod:`crm_core.tasks.registry`), instance records and files, the task set's storage
in the org database, the oracle and baselines.

Entry points: :mod:`crm_core.tasks.records` (``TaskInstance``, ``load_tasks``, ``save_tasks``),
:func:`crm_core.tasks.build.build_tasks`, :func:`crm_core.tasks.oracle.solve`,
:mod:`crm_core.tasks.baselines`, :func:`crm_core.tasks.registry.task_specs`.
"""

from crm_core.tasks.records import TaskInstance, load_tasks, save_tasks

__all__ = ["TaskInstance", "load_tasks", "save_tasks"]
