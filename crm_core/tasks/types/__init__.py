"""The task types, one module each: a module defines ``SPEC``, a :class:`~crm_core.tasks.spec.TaskSpec`
(persona, metric, phrasings, policy, sampler, the three solvers, the answer pool), and
:mod:`crm_core.tasks.registry` picks it up. Modules whose name starts with ``_`` are not types."""
