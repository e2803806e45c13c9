"""The registry of task types: the ``SPEC`` of every module in :mod:`crm_core.tasks.types`.

Adding a task type is adding one module to ``crm_core/tasks/types/`` (see docs/tasks.md); the
registry discovers it on first use and orders the types by ``TaskSpec.order``.
"""

from __future__ import annotations

import importlib
import pkgutil

from crm_core.tasks.spec import Suite, TaskSpec

TYPES_PACKAGE = "crm_core.tasks.types"

_by_name: dict[str, TaskSpec] = {}
_ordered: tuple[TaskSpec, ...] = ()


class UnknownTaskError(KeyError):
    """A task name no task type has."""

    def __str__(self) -> str:
        return f"unknown task {self.args[0]!r}; tasks are {', '.join(task_names(None))}"


def _discover() -> None:
    """Import every module of the types package (``_``-prefixed ones excepted); each defines ``SPEC``."""
    global _ordered
    package = importlib.import_module(TYPES_PACKAGE)
    found: dict[str, TaskSpec] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{TYPES_PACKAGE}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, TaskSpec):
            raise TypeError(f"{module.__name__} defines no SPEC (a TaskSpec)")
        if spec.name in found:
            raise ValueError(f"two task type modules define the task {spec.name!r}")
        found[spec.name] = spec
    _by_name.update(found)
    _ordered = tuple(sorted(found.values(), key=lambda spec: (spec.order, spec.name)))


def task_specs(suite: Suite | None = "crmarena") -> tuple[TaskSpec, ...]:
    """The task types of `suite` (CRMArena's by default; None: every suite), in the task set's order."""
    if not _ordered:
        _discover()
    return tuple(spec for spec in _ordered if suite is None or spec.suite == suite)


def task_names(suite: Suite | None = "crmarena") -> tuple[str, ...]:
    """The names of the task types of `suite` (CRMArena's by default; None: every suite), in order."""
    return tuple(spec.name for spec in task_specs(suite))


def spec_of(name: str) -> TaskSpec:
    """The spec of task `name`; :class:`UnknownTaskError` if there is none."""
    task_specs()
    if name not in _by_name:
        raise UnknownTaskError(name)
    return _by_name[name]


def reset() -> None:
    """Forget the discovered types: the next lookup reads the types package again."""
    global _ordered
    _by_name.clear()
    _ordered = ()
