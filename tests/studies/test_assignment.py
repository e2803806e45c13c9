"""Assignment: each item gets its raters, least-rated first, in an order stable per expert."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from studyfiles import study_yaml

from crm_core.store import open_app_store
from crm_core.studies import (
    StudyError,
    claim_next_item,
    close_study,
    load_definition,
    next_item,
    parse_study,
    rater_progress,
    save_draft,
    submit,
)
from crm_core.users import add_user

GOOD = {"data": 4, "overall": 4}


def test_every_item_gets_exactly_its_raters_least_rated_first(sessions, make_study, make_users):
    study = make_study(cases=6, ratings_per_item=2)
    experts = make_users(5)
    raters: dict[int, set[str]] = defaultdict(set)  # our own tally, kept beside the store
    with sessions() as session:
        item_ids = [item.id for item in study.items]
        active = list(experts)
        while active:
            for username in list(active):
                item = next_item(session, study.id, username)
                if item is None:
                    active.remove(username)
                    continue
                eligible = [i for i in item_ids if username not in raters[i] and len(raters[i]) < 2]
                assert item.id in eligible
                assert len(raters[item.id]) == min(len(raters[i]) for i in eligible), "not the least-rated item"
                submit(session, study.id, item.id, username, GOOD)
                raters[item.id].add(username)
    assert {i: len(r) for i, r in raters.items()} == dict.fromkeys(item_ids, 2)
    assert sum(len(r) for r in raters.values()) == 12
    per_expert = Counter(u for r in raters.values() for u in r)
    assert max(per_expert.values()) - min(per_expert.values()) <= 1  # work is spread evenly


def _solo_order(app_db_url: str, org_url: str, username: str, randomize: bool = True) -> list[str]:
    """The item keys `username` is offered, answering each, alone in a fresh store."""
    sessions = open_app_store(app_db_url)
    with sessions() as session:
        add_user(session, username, "expert", "password-123")
        study = load_definition(session, parse_study(study_yaml(cases=8, randomize=randomize)), org_url)
        order = []
        while (item := next_item(session, study.id, username)) is not None:
            order.append(item.key)
            submit(session, study.id, item.id, username, GOOD)
    sessions.kw["bind"].dispose()
    return order


def test_order_is_random_per_expert_and_stable(tmp_path, id_org):
    def order(name: str, run: int, randomize: bool = True) -> list[str]:
        return _solo_order(f"sqlite:///{tmp_path / f'{name}-{run}-{randomize}.db'}", id_org[0], name, randomize)

    alice = order("alice", 1)
    assert len(alice) == 8 and len(set(alice)) == 8
    assert order("alice", 2) == alice  # same expert, another store: same order
    others = [order(name, 1) for name in ("bob", "carol", "dave")]
    assert all(sorted(o) == sorted(alice) for o in others)
    assert len({tuple(o) for o in [alice, *others]}) > 1  # not one shared order
    in_file_order = order("alice", 1, randomize=False)
    assert in_file_order == order("bob", 1, randomize=False)  # no randomization: everyone the same


def test_without_randomization_items_come_in_file_order(sessions, make_study, make_users):
    study = make_study(cases=5, randomize=False)
    (expert,) = make_users(1)
    with sessions() as session:
        seen = []
        while (item := next_item(session, study.id, expert)) is not None:
            seen.append(item.position)
            submit(session, study.id, item.id, expert, GOOD)
    assert seen == [0, 1, 2, 3, 4]


def test_an_open_draft_comes_back_first_and_reserves_the_item(sessions, make_study, make_users):
    study = make_study(cases=3, ratings_per_item=1, randomize=False)
    first, second = make_users(2)
    with sessions() as session:
        item = next_item(session, study.id, first)
        assert item is not None and item.position == 0
        save_draft(session, study.id, item.id, first, {"data": 3})
        assert next_item(session, study.id, first).id == item.id  # resumes the draft
        offered = [next_item(session, study.id, second).position]
        assert offered == [1]  # the drafted item is taken: one rater per item
        assert rater_progress(session, study.id, first).model_dump() == {
            "username": first,
            "submitted": 0,
            "remaining": 3,
        }
        assert rater_progress(session, study.id, second).remaining == 2


def test_a_closed_study_assigns_nothing_and_refuses_answers(sessions, make_study, make_users):
    study = make_study(cases=2)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        close_study(session, study.id)
        assert next_item(session, study.id, expert) is None
        with pytest.raises(StudyError, match="closed"):
            submit(session, study.id, item.id, expert, GOOD)
        with pytest.raises(StudyError, match="closed"):
            save_draft(session, study.id, item.id, expert, {"data": 1})


@pytest.mark.slow
def test_fairness_holds_for_any_interleaving(sessions, id_org, make_users):
    """Property: whatever the study size, overlap and order of turns, every item ends with
    min(ratings_per_item, experts) distinct raters and each turn gets a least-rated item."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    experts = make_users(5)
    counter = iter(range(10_000))

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        items=st.integers(1, 7),
        per_item=st.integers(1, 4),
        active=st.integers(1, 5),
        turns=st.lists(st.integers(0, 4), min_size=60, max_size=60),
        claim=st.booleans(),
    )
    def check(items: int, per_item: int, active: int, turns: list[int], claim: bool) -> None:
        yaml_text = study_yaml(f"p{next(counter)}", cases=items, ratings_per_item=per_item)
        raters: dict[int, set[str]] = defaultdict(set)
        with sessions() as session:
            study = load_definition(session, parse_study(yaml_text), id_org[0])
            ids = [item.id for item in study.items]
            pool = experts[:active]
            for turn in [t % active for t in turns] + list(range(active)) * items:
                username = pool[turn]
                item = (claim_next_item if claim else next_item)(session, study.id, username)
                eligible = [i for i in ids if username not in raters[i] and len(raters[i]) < per_item]
                if item is None:
                    assert eligible == []
                    continue
                assert len(raters[item.id]) == min(len(raters[i]) for i in eligible)
                submit(session, study.id, item.id, username, GOOD)
                raters[item.id].add(username)
        assert [len(raters[i]) for i in ids] == [min(per_item, active)] * items

    check()
