"""The roles policy: which role opens which page and does which action (a hand-written table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.policy import PAGES as PAGE_TABLE
from crm_core.policy import (
    Page,
    PermissionDenied,
    Role,
    can,
    can_open,
    pages_for,
    refusal_notice,
    require,
    require_page,
)

ROOT = Path(__file__).resolve().parents[2]
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


def test_navigation_starts_with_home_then_the_org_explorer():
    for role, expected in EXPECTED_PAGES.items():
        pages = pages_for(role)
        assert pages[:2] == ("home", "org_explorer") and set(pages) == expected | {"home"}


def test_every_page_has_one_row_a_unique_url_and_a_gated_script():
    assert sorted(spec.page for spec in PAGE_TABLE) == sorted(Page)
    urls = [spec.url_path for spec in PAGE_TABLE]
    assert len(set(urls)) == len(urls) and all(url and "/" not in url for url in urls)
    for spec in PAGE_TABLE:
        script = ROOT / spec.script
        assert script.is_file(), spec.script
        if spec.page is not Page.HOME:  # home is open to every signed-in role and checks that itself
            assert f"require_page(Page.{spec.page.name})" in script.read_text(), spec.script


@pytest.mark.parametrize("role", ["expert", "researcher", "admin"])
def test_a_url_of_another_roles_page_says_why_home_opens(role):
    for spec in PAGE_TABLE:
        notice = refusal_notice(role, spec.url_path)
        if Role(role) in spec.roles:
            assert notice is None
        else:
            assert notice is not None and spec.title in notice and role in notice
            assert all(f"{allowed.value}s" in notice for allowed in spec.roles)
    assert refusal_notice(role, "no-such-page") is None and refusal_notice(role, None) is None
