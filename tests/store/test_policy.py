"""The roles policy: which role opens which page and does which action (a hand-written table)."""

from __future__ import annotations

import pytest

from crm_core.policy import PAGES_BY_ROLE, PermissionDenied, can, can_open, require, require_page

PAGES = ["org_explorer", "realism_study", "task_workbench", "trajectory_replay", "results", "export", "admin"]
EXPECTED_PAGES = {  # role -> pages it may open (docs/studio.md)
    "expert": {"org_explorer", "realism_study", "task_workbench"},
    "researcher": {"org_explorer", "trajectory_replay", "results", "sweeps", "export"},
    "admin": {"org_explorer", "trajectory_replay", "results", "sweeps", "export", "admin"},
}
EXPECTED_ACTIONS = {
    "expert": {"browse_org", "rate", "solve_tasks", "run_offline_agent", "run_paid_agent"},
    "researcher": {
        "browse_org",
        "view_all_responses",
        "view_results",
        "view_latent",
        "unblind",
        "export",
        "export_names",
        "run_offline_agent",
        "run_paid_agent",
        "run_sweeps",
    },
}
EXPECTED_ACTIONS["admin"] = EXPECTED_ACTIONS["researcher"] | {"manage_users", "manage_studies"}
ACTIONS = sorted(set().union(*EXPECTED_ACTIONS.values()))


@pytest.mark.parametrize("role", ["expert", "researcher", "admin"])
@pytest.mark.parametrize("page", PAGES)
def test_page_table(role, page):
    assert can_open(role, page) is (page in EXPECTED_PAGES[role])
    if page in EXPECTED_PAGES[role]:
        require_page(role, page)
    else:
        with pytest.raises(PermissionDenied, match=f"role '{role}' may not open"):
            require_page(role, page)


@pytest.mark.parametrize("role", ["expert", "researcher", "admin"])
@pytest.mark.parametrize("action", ACTIONS)
def test_action_table(role, action):
    assert can(role, action) is (action in EXPECTED_ACTIONS[role])
    if action not in EXPECTED_ACTIONS[role]:
        with pytest.raises(PermissionDenied, match=f"role '{role}' may not"):
            require(role, action)


def test_experts_never_see_results_answers_of_others_or_names():
    for action in (
        "view_all_responses",
        "view_results",
        "view_latent",
        "unblind",
        "export",
        "export_names",
    ):
        assert not can("expert", action)


@pytest.mark.parametrize("role", [None, "", "Admin", "root", "expert "])
def test_unknown_roles_get_nothing(role):
    assert not any(can_open(role, page) for page in PAGES)
    assert not any(can(role, action) for action in ACTIONS)
    with pytest.raises(PermissionDenied):
        require(role, "browse_org")


def test_navigation_order_starts_with_the_org_explorer():
    for role, pages in PAGES_BY_ROLE.items():
        assert pages[0] == "org_explorer" and set(pages) == EXPECTED_PAGES[role]
