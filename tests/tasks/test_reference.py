"""Reference solvers on hand-built orgs whose answers are known by construction."""

from __future__ import annotations

import datetime as dt

import pytest
from handorg import HandOrg

from crm_core.org.schema import LatentArticleFact, LatentCasePolicy
from crm_core.tasks import reference as ref
from crm_core.tasks.types.best_region_identification import best_region
from crm_core.tasks.types.case_routing import case_routing
from crm_core.tasks.types.handle_time import handle_time
from crm_core.tasks.types.knowledge_qa import knowledge_answer
from crm_core.tasks.types.monthly_trend_analysis import monthly_trend
from crm_core.tasks.types.named_entity_disambiguation import named_entity
from crm_core.tasks.types.policy_violation_identification import policy_violation
from crm_core.tasks.types.top_issue_identification import top_issue
from crm_core.tasks.types.transfer_count import transfer_count

D = dt.datetime
JAN, FEB, MAR = D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)
H = dt.timedelta(hours=1)


def test_handled_counts_use_the_first_assignment_and_half_open_periods(org: HandOrg) -> None:
    a, b, c = org.agent(), org.agent(), org.agent()
    org.case(a, JAN)  # first assignment at Jan 1 00:00 -> January
    org.case([a, b], JAN + H)  # a first; the transfer to b is not "handled" by b
    org.case(b, FEB - dt.timedelta(seconds=1))  # last second of January
    org.case(c, FEB)  # exactly at February's start: February, not January
    with org.engine.connect() as conn:
        assert ref.handled_counts(conn, JAN, FEB) == {a: 2, b: 1}
        assert ref.handled_counts(conn, FEB, MAR) == {c: 1}
        assert ref.qualified_agents(conn, JAN, FEB, 1) == {a}


def test_handle_time_min_max_and_transferred_cases_excluded(org: HandOrg) -> None:
    a, b, c = org.agent(), org.agent(), org.agent()
    for agent, hours in ((a, 2), (a, 4), (b, 1), (b, 7), (c, 10)):
        org.case(agent, JAN + H, closed=JAN + H + hours * H)
    # A transferred case with a tiny handle time would make b fastest if it counted.
    org.case([c, b], JAN + 2 * H, closed=JAN + 2 * H + dt.timedelta(minutes=2))
    # An open case does not count either.
    org.case(a, JAN + 3 * H)
    with org.engine.connect() as conn:
        # means: a = 3h, b = 4h, c = 10h (c handled 2: its own and the transferred one)
        assert handle_time(conn, JAN, FEB, 1, "min") == a
        assert handle_time(conn, JAN, FEB, 1, "max") == c
        assert handle_time(conn, JAN, FEB, 2, "min") == a  # a handled 3 cases, others 2
        assert handle_time(conn, JAN, FEB, 5, "min") is None  # nobody qualifies
        assert handle_time(conn, FEB, MAR, 0, "min") is None  # no case in February


def test_handle_time_tie_is_rejected(org: HandOrg) -> None:
    a, b = org.agent(), org.agent()
    org.case(a, JAN, closed=JAN + 2 * H)
    org.case(b, JAN, closed=JAN + 2 * H)
    with org.engine.connect() as conn, pytest.raises(ref.TiedAnswerError):
        handle_time(conn, JAN, FEB, 0, "min")


def test_transfer_count_counts_the_giver_and_keeps_zeros(org: HandOrg) -> None:
    a, b, c = org.agent(), org.agent(), org.agent()
    for agent in (a, b, c):
        org.case(agent, JAN)
        org.case(agent, JAN + H)
    # a gives two cases away in January, b one; c none. A transfer in February does not count.
    org.case([a, b], JAN + 2 * H)
    org.case([a, c], JAN + 2 * H)
    org.case([b, a], JAN + 3 * H)
    org.case([c, a], JAN + 4 * H, assigned=[JAN + 4 * H, FEB + H])
    with org.engine.connect() as conn:
        assert transfer_count(conn, JAN, FEB, 1, "max") == a
        assert transfer_count(conn, JAN, FEB, 1, "min") == c  # zero transfers still counts
        assert transfer_count(conn, JAN, FEB, 10, "min") is None
        # handled in January: a 4, b 3, c 3; transfers away: a 2, b 1, c 0 (its one is in February).
        # With n=3 only a qualifies.
        assert transfer_count(conn, JAN, FEB, 3, "min") == a
        # February: one handled case nowhere (c's transfer row is not a first assignment) -> None
        assert transfer_count(conn, FEB, MAR, 0, "max") is None


def test_transfer_count_tie_is_rejected(org: HandOrg) -> None:
    a, b = org.agent(), org.agent()
    org.case([a, b], JAN)
    org.case([b, a], JAN)
    with org.engine.connect() as conn, pytest.raises(ref.TiedAnswerError):
        transfer_count(conn, JAN, FEB, 0, "max")


def test_top_issue_and_monthly_trend(org: HandOrg) -> None:
    agent = org.agent()
    shoe, jacket = org.product("Trail Shoe"), org.product("Rain Jacket")
    customer = org.customer()
    shoe_item, jacket_item = org.order(customer[0], dt.date(2023, 12, 1), [shoe, jacket])
    sole, zipper = org.issue("Sole"), org.issue("Zipper")
    for when, issue in ((JAN + H, sole), (FEB + H, sole), (FEB + 2 * H, zipper), (FEB + 3 * H, sole)):
        org.case(agent, when, issue=issue, order_item=shoe_item, customer=customer)
    org.case(agent, JAN + H, issue=zipper, order_item=jacket_item, customer=customer)
    org.case(agent, JAN + 2 * H, issue=zipper, order_item=jacket_item, customer=customer)
    with org.engine.connect() as conn:
        assert top_issue(conn, JAN, MAR, shoe) == sole
        assert top_issue(conn, JAN, MAR, jacket) == zipper
        assert top_issue(conn, MAR, D(2024, 4, 1), shoe) is None
        assert monthly_trend(conn, JAN, MAR, shoe) == "February"
        assert monthly_trend(conn, JAN, MAR, jacket) == "January"
        with pytest.raises(ref.TiedAnswerError):  # [Feb 01:00, Feb 02:00:01): one sole, one zipper
            top_issue(conn, FEB, FEB + 2 * H + dt.timedelta(seconds=1), shoe)


def test_best_region(org: HandOrg) -> None:
    agent = org.agent()
    ca, ny, tx = org.customer("CA"), org.customer("NY"), org.customer("TX")
    org.case(agent, JAN, closed=JAN + 5 * H, customer=ca)
    org.case(agent, JAN, closed=JAN + 1 * H, customer=ca)  # CA mean 3h
    org.case(agent, JAN, closed=JAN + 2 * H, customer=ny)  # NY mean 2h
    org.case(agent, JAN, customer=tx)  # open: ignored
    org.case(agent, FEB, closed=FEB + dt.timedelta(minutes=1), customer=tx)  # other period
    with org.engine.connect() as conn:
        assert best_region(conn, JAN, FEB) == "NY"
        assert best_region(conn, FEB, MAR) == "TX"
        assert best_region(conn, MAR, D(2024, 4, 1)) is None


def test_case_routing_rules_in_order(org: HandOrg) -> None:
    a, b, c = org.agent(), org.agent(), org.agent()
    shoe, other = org.product("Trail Shoe"), org.product("Cap")
    customer = org.customer()
    shoe_item, other_item = org.order(customer[0], dt.date(2023, 12, 1), [shoe, other])
    sole, zipper = org.issue("Sole"), org.issue("Zipper")
    # Issue counts (Closed): a 2, b 2, c 1 -> a and b tie; zipper cases: c 3.
    for agent, item in ((a, other_item), (a, other_item), (b, shoe_item), (b, other_item), (c, shoe_item)):
        org.case(agent, JAN, closed=JAN + H, issue=sole, order_item=item, customer=customer)
    for _ in range(3):
        org.case(c, JAN, closed=JAN + H, issue=zipper, order_item=shoe_item, customer=customer)
    with org.engine.connect() as conn:
        # sole: a and b tie on 2; on the shoe b has 1, a has 0 -> b
        assert case_routing(conn, sole, shoe) == b
        assert case_routing(conn, zipper, shoe) == c
        # sole with the cap: a 2 and b 1 -> a
        assert case_routing(conn, sole, other) == a
    # Third rule: fewest cases not Closed. Give a two open cases, b one.
    org.case(a, FEB, customer=customer)
    org.case(a, FEB, status="Escalated", customer=customer)
    org.case(b, FEB, status="Working", customer=customer)
    extra = org.product("Sock")
    with org.engine.connect() as conn:
        assert case_routing(conn, sole, extra) == b
    org.case(a, FEB, closed=FEB + H, status="Closed", customer=customer)  # closed: no change
    org.case(b, FEB, customer=customer)  # now a 2 open, b 2 open -> tie everywhere
    with org.engine.connect() as conn, pytest.raises(ref.TiedAnswerError):
        case_routing(conn, sole, extra)


def test_named_entity_disambiguation(org: HandOrg) -> None:
    org.agent()
    jacket = org.product("Summit Trail Jacket", "Waterproof shell for hiking.")
    shoe = org.product("Trail Runner Shoe", "Grippy shoe.")
    other_jacket = org.product("City Rain Jacket")
    customer = org.customer()
    day = dt.date(2024, 5, 3)
    org.order(customer[0], day, [jacket, shoe])
    org.order(customer[0], dt.date(2024, 5, 4), [other_jacket])
    org.order(customer[0], day, [other_jacket], status="Draft")
    with org.engine.connect() as conn:
        assert named_entity(conn, customer[1], day, "jacket") == jacket  # draft order ignored
        assert named_entity(conn, customer[1], day, "hiking shell") == jacket  # description words
        assert named_entity(conn, customer[1], day, "shoe") == shoe
        assert named_entity(conn, customer[1], day, "socks") is None
        assert named_entity(conn, customer[1], dt.date(2024, 5, 4), "shoe") is None
        with pytest.raises(ref.TiedAnswerError):
            named_entity(conn, customer[1], day, "trail")


def test_policy_and_knowledge_read_what_was_planted(org: HandOrg) -> None:
    agent = org.agent()
    article = org.article("Return policy", "Returns are accepted within 30 days.")
    breached, clean = org.case(agent, JAN), org.case(agent, JAN)
    org.latent(LatentCasePolicy, case_id=breached, violated_article_id=article, channel="email")
    org.latent(LatentCasePolicy, case_id=clean, violated_article_id=None, channel="chat")
    org.latent(LatentArticleFact, article_id=article, position=0, question="How long?", answer="30 days")
    with org.engine.connect() as conn:
        assert policy_violation(conn, breached) == article
        assert policy_violation(conn, clean) is None
        assert knowledge_answer(conn, article, 0) == "30 days"
        with pytest.raises(LookupError):
            policy_violation(conn, article)


def test_pick_extreme() -> None:
    assert ref.pick_extreme({}, "min") is None
    assert ref.pick_extreme({"a": 1.0, "b": 2.0}, "min") == "a"
    assert ref.pick_extreme({"a": 1.0, "b": 2.0}, "max") == "b"
    with pytest.raises(ref.TiedAnswerError):
        ref.pick_extreme({"a": 60.0, "b": 60.0 + 1e-12}, "min")
