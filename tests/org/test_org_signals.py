"""Each latent variable leaves its signal at the default scale, and `--no-latent` erases it.

Signals are measured from the org's records with hand-written SQL (tests/org/org_signals.py) and
compared with the hidden values in the latent tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from org_signals import (
    expertise_vs_closed_share,
    peak_month_agreement,
    propensity_vs_cases,
    region_speed_vs_closure,
    skill_vs_case_handle_time,
    skill_vs_handle_time,
    skill_vs_transfer_rate,
    top_issue_agreement,
)
from sqlalchemy import Connection

from crm_core.db import make_readonly_engine
from tests.conftest import generated, shared_sqlite_org

pytestmark = pytest.mark.slow


def _connect(url: str) -> Iterator[Connection]:
    engine = make_readonly_engine(url)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture(scope="module")
def latent(default_org_url: str) -> Iterator[Connection]:
    yield from _connect(default_org_url)


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> Iterator[Connection]:
    yield from _connect(shared_sqlite_org(tmp_path_factory, "default-flat", generated("default", latent=False)))


def test_skill_drives_handle_time(latent, flat) -> None:
    assert skill_vs_handle_time(latent) <= -0.5
    assert abs(skill_vs_handle_time(flat)) < 0.2
    # the same per case (thousands of cases, so the flat org's ρ is near zero whatever the seed)
    assert skill_vs_case_handle_time(latent) <= -0.2
    assert abs(skill_vs_case_handle_time(flat)) < 0.05


def test_skill_drives_transfers(latent, flat) -> None:
    assert skill_vs_transfer_rate(latent) <= -0.5
    assert abs(skill_vs_transfer_rate(flat)) < 0.3


def test_expertise_drives_routing(latent, flat) -> None:
    assert expertise_vs_closed_share(latent) >= 0.5
    assert abs(expertise_vs_closed_share(flat)) < 0.2


def test_complaint_propensity_drives_cases(latent, flat) -> None:
    assert propensity_vs_cases(latent) >= 0.4
    assert abs(propensity_vs_cases(flat)) < 0.1


def test_defect_profile_gives_the_top_issue(latent, flat) -> None:
    assert top_issue_agreement(latent) >= 0.8
    assert top_issue_agreement(flat) <= 0.4


def test_seasonal_products_peak_in_their_month(latent, flat) -> None:
    assert peak_month_agreement(latent) >= 0.7
    assert peak_month_agreement(flat) <= 0.45  # chance of landing within ±1 month is 3/12


def test_regional_speed_shows_in_closure_times(latent, flat) -> None:
    assert region_speed_vs_closure(latent) >= 0.5
    assert abs(region_speed_vs_closure(flat)) < 0.3


def test_default_scale_sizes(latent) -> None:
    from sqlalchemy import text

    facts = latent.execute(text("SELECT COUNT(*) FROM latent_article_fact")).scalar_one()
    policy = latent.execute(text("SELECT COUNT(*) FROM latent_case_policy")).scalar_one()
    assert facts >= 200
    assert policy >= 200
