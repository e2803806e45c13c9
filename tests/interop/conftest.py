"""Fixtures of the interop tests: the sweeps' tiny org with its task set (built once per test run)."""

from tests.sweeps.conftest import tiny_tasks_org  # noqa: F401  # a fixture, used by name
