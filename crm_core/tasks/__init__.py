"""The nine CRMArena tasks over the org: instance records and files, generators with reference
solvers (ground truth), the task set's storage in the org database, the oracle and baselines.

Entry points: :mod:`crm_core.tasks.records` (``TaskInstance``, ``load_tasks``, ``save_tasks``),
:func:`crm_core.tasks.build.build_tasks`, :func:`crm_core.tasks.oracle.solve`,
:mod:`crm_core.tasks.baselines`. Submodules are imported where needed (the tools use
:mod:`crm_core.tasks.periods`, and the oracle uses the tools).
"""

from crm_core.tasks.records import TaskInstance, load_tasks, save_tasks

__all__ = ["TaskInstance", "load_tasks", "save_tasks"]
