"""``org push`` without a server: the order, the values sent, the pairing of results, the checks.

The target org is the only thing stood in for (in the describe check): a real org's describe
answers are written out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simple_salesforce.exceptions import SalesforceResourceNotFound

from crm_core.errors import UserFacingError
from crm_core.org.metadata import describe_org
from crm_core.org.push import PushState, _match, csv_value, missing_on_target, push_order, pushed_fields


def test_every_object_comes_after_the_objects_it_points_at() -> None:
    order = [obj.name for obj in push_order()]
    assert sorted(order) == sorted(describe_org())
    for obj in describe_org().values():
        for field in obj.fields:
            if field.reference_to:
                assert order.index(field.reference_to) < order.index(obj.name), (obj.name, field.name)


def test_fields_the_platform_sets_are_not_sent() -> None:
    objects = describe_org()
    assert "CaseNumber" not in pushed_fields(objects["Case"]) and "Subject" in pushed_fields(objects["Case"])
    assert "Name" not in pushed_fields(objects["Contact"]) and "LastName" in pushed_fields(objects["Contact"])
    assert "Name" in pushed_fields(objects["Issue__c"])
    for obj in objects.values():
        assert not {"Id", "CreatedDate", "ClosedDate"} & set(pushed_fields(obj))


def test_csv_values() -> None:
    assert csv_value(None) == "" and csv_value(True) == "true" and csv_value(False) == "false"
    assert csv_value(dt.datetime(2024, 3, 5, 7, 8, 9, 123456)) == "2024-03-05T07:08:09.123Z"
    assert csv_value(dt.date(2024, 3, 5)) == "2024-03-05"
    assert csv_value(2.5) == "2.5" and csv_value("a,b") == "a,b"


def _results(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "a,b", 'q"', ""]), st.booleans()), min_size=1, max_size=30),
    st.randoms(use_true_random=False),
)
def test_results_pair_with_the_rows_they_repeat(rows: list[tuple[str, bool]], rng: random.Random) -> None:
    """Whatever the order of the result files, each source id gets a target id of a row equal to its own."""
    sent = [(f"src{n}", [value, "x"]) for n, (value, _) in enumerate(rows)]
    ok = [
        [f"tgt{n}", "true", *values]
        for n, ((_, values), (_, fails)) in enumerate(zip(sent, rows, strict=True))
        if not fails
    ]
    bad = [
        ["", "REQUIRED_FIELD_MISSING:missing:Name --", *values]
        for (_, values), (_, f) in zip(sent, rows, strict=True)
        if f
    ]
    rng.shuffle(ok)
    rng.shuffle(bad)
    outcome = _match(
        sent, _results(["sf__Id", "sf__Created", "v", "w"], ok), _results(["sf__Id", "sf__Error", "v", "w"], bad)
    )
    values_of = dict(sent)
    target_values = {row[0]: row[2:] for row in ok}
    assert len(outcome.ids) == len(ok) and len(set(outcome.ids.values())) == len(ok)
    for source_id, target_id in outcome.ids.items():
        assert target_values[target_id] == values_of[source_id]
    assert len(outcome.failures) == len(bad)
    assert sorted(values_of[s][0] for s, _ in outcome.failures) == sorted(row[2] for row in bad)


class _RealOrg:
    """Describe answers of a real org: a User needs fields this org has none of; no Issue__c."""

    def __init__(self) -> None:
        self.objects = {obj.name: obj for obj in describe_org().values()}

    def __getattr__(self, name: str):
        org = self

        class _Object:
            def describe(self) -> dict:
                if name == "Issue__c":
                    raise SalesforceResourceNotFound("url", 404, name, b"[]")
                fields = [
                    {"name": f.name, "createable": True, "nillable": True, "defaultedOnCreate": False, "type": "string"}
                    for f in org.objects[name].fields
                    if f.name != "OrderItemId__c"
                ]
                if name == "User":
                    fields += [
                        {"name": "ProfileId", "createable": True, "nillable": False, "defaultedOnCreate": False},
                        {"name": "LocaleSidKey", "createable": True, "nillable": False, "defaultedOnCreate": False},
                        {"name": "IsActive", "createable": True, "nillable": False, "type": "boolean"},
                        {"name": "CommunityNickname", "createable": True, "nillable": False, "defaultedOnCreate": True},
                    ]
                return {"fields": fields}

        return _Object()


def test_the_target_is_checked_before_anything_is_sent() -> None:
    problems = missing_on_target(_RealOrg(), push_order())  # type: ignore[arg-type]
    assert problems == [
        "User: the target requires ProfileId, LocaleSidKey, which the org does not have",
        "Issue__c: the target has no such object (404)",
        "Case: no field OrderItemId__c",
    ]


def test_a_state_file_refuses_another_push(tmp_path) -> None:
    state = PushState(tmp_path / "state.sqlite")
    state.check_info({"instance_url": "https://a.example", "counts": '{"Case": 3}'})
    state.check_info({"instance_url": "https://a.example", "counts": '{"Case": 3}'})  # the same push again
    with pytest.raises(UserFacingError, match="belongs to another push"):
        state.check_info({"instance_url": "https://a.example", "counts": '{"Case": 4}'})
    state.close()


def test_push_needs_credentials(cli, monkeypatch) -> None:
    monkeypatch.delenv("SF_SESSION_ID", raising=False)
    monkeypatch.delenv("SF_PASSWORD", raising=False)
    code, _out, err = cli("org", "push", "--instance-url", "https://127.0.0.1:9")
    assert code == 1 and "give a session id" in err


def test_a_result_row_that_differs_from_the_upload_is_reported() -> None:
    sent = [("src1", ["Ada "]), ("src2", ["Bob"])]
    echoed = _results(["sf__Id", "sf__Created", "v"], [["tgt1", "true", "Ada"], ["tgt2", "true", "Bob"]])
    outcome = _match(sent, echoed, _results(["sf__Id", "sf__Error", "v"], []))
    assert outcome.ids == {"src2": "tgt2"}
    assert outcome.failures == [
        ("src1", "created on the target (one of tgt1...) but its result row differs from the upload")
    ]
