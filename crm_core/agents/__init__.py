"""Agents on the benchmark: frameworks, models, episodes and resumable runs.

- :mod:`crm_core.agents.frameworks`: act, react, fc, fc_flex (prompts, parsing, feedback).
- :mod:`crm_core.agents.models`: ``provider:model`` chat models, prices, retries.
- :mod:`crm_core.agents.offline`: oracle, baselines and replay as LangChain chat models.
- :mod:`crm_core.agents.environment`: the tools and raw queries on a read-only org.
- :mod:`crm_core.agents.service`: the run service (``RunConfig`` → prepare → execute or resume),
  used by the CLI, the studio and sweeps, and ``resolve_model`` (a ``--model`` string → its source);
  :mod:`crm_core.agents.progress`: its progress hooks.
- :mod:`crm_core.agents.episode` / :mod:`crm_core.agents.runner`: one episode; concurrent runs.
- :mod:`crm_core.agents.records`: typed records of runs; :mod:`crm_core.agents.run_store` reads and
  writes them in the app store.
- :mod:`crm_core.agents.results`: scores and exports.

Kept import-free so that ``python -m crm_core`` starts fast; import the modules you need.
"""
