"""Agents on the benchmark: frameworks, models, episodes and resumable runs (SPEC §7).

- :mod:`crm_core.agents.frameworks`: act, react, fc, fc_flex (prompts, parsing, feedback).
- :mod:`crm_core.agents.models`: ``provider:model`` chat models, prices, retries; ``resolve_model``.
- :mod:`crm_core.agents.offline`: oracle, baselines and replay as LangChain chat models.
- :mod:`crm_core.agents.environment`: the tools and raw queries on a read-only org.
- :mod:`crm_core.agents.service`: the run service (``RunConfig`` → prepare → execute or resume),
  used by the CLI, the studio and sweeps; :mod:`crm_core.agents.progress`: its progress hooks.
- :mod:`crm_core.agents.episode` / :mod:`crm_core.agents.runner`: one episode; concurrent runs.
- :mod:`crm_core.agents.records`: the typed records stored by :mod:`crm_core.store.runs`.
- :mod:`crm_core.agents.results`: scores and exports.

Kept import-free so that ``python -m crm_core`` starts fast; import the modules you need.
"""
