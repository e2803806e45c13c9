"""A case's channel follows its customer's voice: casual writers chat, detailed writers email."""

from __future__ import annotations

import numpy as np
import pytest

from crm_core.org.generator import CHANNEL_MIX, OrgPlan
from crm_core.org.scales import resolve_scale

EMAIL, WEB, PHONE, CHAT = range(4)


@pytest.fixture(scope="module")
def plan() -> OrgPlan:
    return OrgPlan(resolve_scale("default", None), seed=7, latent=True)


def _share(origins: np.ndarray, channel: int) -> float:
    return float((origins == channel).mean())


def test_casual_customers_chat_more(plan: OrgPlan) -> None:
    casual = plan.cust_casual[plan.case_account]
    assert _share(plan.case_origin[casual], CHAT) > 1.5 * _share(plan.case_origin[~casual], CHAT)


def test_detailed_customers_email_more_and_terse_ones_call(plan: OrgPlan) -> None:
    detail = plan.cust_detail[plan.case_account]
    detailed, terse = plan.case_origin[detail == 2], plan.case_origin[detail == 0]
    assert _share(detailed, EMAIL) > 1.4 * _share(terse, EMAIL)
    assert _share(terse, PHONE) > 1.2 * _share(detailed, PHONE)


def test_the_overall_mix_stays_near_the_org_mix(plan: OrgPlan) -> None:
    mix = np.bincount(plan.case_origin, minlength=4) / len(plan.case_origin)
    assert np.abs(mix - np.array(CHANNEL_MIX)).max() < 0.05
