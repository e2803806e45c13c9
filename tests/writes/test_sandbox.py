"""Sandboxes: each sees the org plus its own changes only; the org itself never changes."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine

from crm_core.db import make_readonly_engine
from crm_core.org.stats import org_stats
from crm_core.query import run_soql, run_sosl
from crm_core.sandbox import Sandbox
from crm_core.scoring.state import diff_from_changes
from crm_core.writes import create_record, delete_record, update_record


def _digest(org_url: str) -> str:
    engine = make_readonly_engine(org_url)
    try:
        return org_stats(engine).digest
    finally:
        engine.dispose()


def _first(conn, soql: str) -> dict:
    return run_soql(conn, soql)["records"][0]


def test_writes_are_seen_by_their_sandbox_only(org_url: str, sandbox_engine: Engine) -> None:
    before = _digest(org_url)
    with Sandbox(sandbox_engine) as mine, Sandbox(sandbox_engine) as other:
        case = _first(mine.conn, "SELECT Id, Status, OwnerId FROM Case WHERE Status = 'Closed' ORDER BY Id LIMIT 1")
        agent = _first(mine.conn, f"SELECT Id FROM User WHERE Id != '{case['OwnerId']}' ORDER BY Id LIMIT 1")
        update_record(mine, "Case", case["Id"], {"Status": "Working", "OwnerId": agent["Id"]})
        seen = _first(mine.conn, f"SELECT Status, Owner.Id, ClosedDate FROM Case WHERE Id = '{case['Id']}'")
        assert (seen["Status"], seen["Owner"]["Id"], seen["ClosedDate"]) == ("Working", agent["Id"], None)
        assert _first(other.conn, f"SELECT Status FROM Case WHERE Id = '{case['Id']}'")["Status"] == "Closed"
        # the owner change is in the case's history, in this sandbox only
        history = (
            f"SELECT COUNT() FROM CaseHistory__c WHERE CaseId__c = '{case['Id']}' AND NewValue__c = '{agent['Id']}'"
        )
        assert run_soql(mine.conn, history)["totalSize"] == 1
        assert run_soql(other.conn, history)["totalSize"] == 0
        # aggregates and SOSL read the overlay too
        new_id = create_record(
            mine,
            "Contact",
            {"LastName": "Quillfeather", "FirstName": "Ottoline", "AccountId": _acc(mine), "OwnerId": agent["Id"]},
        )
        assert (
            run_sosl(mine.conn, "FIND {Quillfeather} IN NAME FIELDS RETURNING Contact(Id, Name)")["searchRecords"][0][
                "Id"
            ]
            == new_id
        )
        assert run_sosl(other.conn, "FIND {Quillfeather} IN NAME FIELDS RETURNING Contact(Id)")["searchRecords"] == []
        total = run_soql(other.conn, "SELECT COUNT() FROM Contact")["totalSize"]
        assert run_soql(mine.conn, "SELECT COUNT() FROM Contact")["totalSize"] == total + 1
    assert _digest(org_url) == before


def _acc(box: Sandbox) -> str:
    return _first(box.conn, "SELECT Id FROM Account ORDER BY Id LIMIT 1")["Id"]


WRITTEN = dt.datetime(2026, 3, 4, 5, 6, 7)


def test_diff_lists_created_changed_and_deleted_records(sandbox: Sandbox) -> None:
    case = _first(
        sandbox.conn,
        "SELECT Id, Subject, Priority, LastModifiedDate FROM Case WHERE Priority = 'Low' ORDER BY Id LIMIT 1",
    )
    update_record(sandbox, "Case", case["Id"], {"Priority": "High"}, now=lambda: WRITTEN)
    email = _first(sandbox.conn, "SELECT Id FROM EmailMessage ORDER BY Id LIMIT 1")
    delete_record(sandbox, "EmailMessage", email["Id"])
    issue = create_record(sandbox, "Issue__c", {"Name": "Zipper split"}, now=lambda: WRITTEN)
    changes = {(c.object, c.id): c for c in sandbox.diff()}
    assert changes[("Case", case["Id"])].kind == "updated"
    assert changes[("Case", case["Id"])].fields == {"Priority": "High", "LastModifiedDate": WRITTEN}
    old = changes[("Case", case["Id"])].old
    assert old["Priority"] == "Low"
    assert old["LastModifiedDate"].isoformat(timespec="milliseconds") + "+0000" == case["LastModifiedDate"]
    assert changes[("Issue__c", issue)].fields["LastModifiedDate"] == WRITTEN
    assert changes[("EmailMessage", email["Id"])].kind == "deleted"
    assert changes[("Issue__c", issue)].kind == "created"
    assert changes[("Issue__c", issue)].fields["Name"] == "Zipper split"
    assert len(changes) == 3


def test_later_writes_keep_the_earlier_ones(sandbox: Sandbox) -> None:
    case = _first(sandbox.conn, "SELECT Id, Subject FROM Case WHERE Priority = 'Low' ORDER BY Id LIMIT 1")
    update_record(sandbox, "Case", case["Id"], {"Priority": "High"})
    update_record(sandbox, "Case", case["Id"], {"Subject": "Zipper split twice"})
    issue = create_record(sandbox, "Issue__c", {"Name": "Zipper split"})
    update_record(sandbox, "Issue__c", issue, {"Name": "Zipper split again"})  # a record only this sandbox has
    changes = {(c.object, c.id): c for c in sandbox.diff()}
    fields, old = changes[("Case", case["Id"])].fields, changes[("Case", case["Id"])].old
    assert {k: v for k, v in fields.items() if k != "LastModifiedDate"} == {
        "Priority": "High",
        "Subject": "Zipper split twice",
    }
    assert {k: v for k, v in old.items() if k != "LastModifiedDate"} == {"Priority": "Low", "Subject": case["Subject"]}
    assert (changes[("Issue__c", issue)].kind, changes[("Issue__c", issue)].fields["Name"]) == (
        "created",
        "Zipper split again",
    )
    delete_record(sandbox, "Case", case["Id"])
    changes = {(c.object, c.id): c.kind for c in sandbox.diff()}
    assert (changes[("Case", case["Id"])], changes[("Issue__c", issue)]) == ("deleted", "created")


def test_update_back_to_the_original_value_leaves_only_the_stamp(sandbox: Sandbox) -> None:
    case = _first(sandbox.conn, "SELECT Id, Priority FROM Case WHERE Priority = 'Low' ORDER BY Id LIMIT 1")
    update_record(sandbox, "Case", case["Id"], {"Priority": "High"})
    update_record(sandbox, "Case", case["Id"], {"Priority": "Low"}, now=lambda: WRITTEN)
    # the record was written (Salesforce stamps it), but no value of it changed: nothing to score
    [change] = sandbox.diff()
    assert change.fields == {"LastModifiedDate": WRITTEN}
    assert diff_from_changes(sandbox.diff()).is_empty()


def test_reset_forgets_every_change(sandbox: Sandbox) -> None:
    case = _first(sandbox.conn, "SELECT Id FROM Case WHERE Status = 'Closed' ORDER BY Id LIMIT 1")
    delete_record(sandbox, "Case", case["Id"])
    assert run_soql(sandbox.conn, f"SELECT COUNT() FROM Case WHERE Id = '{case['Id']}'")["totalSize"] == 0
    sandbox.reset()
    assert sandbox.diff() == []
    assert run_soql(sandbox.conn, f"SELECT COUNT() FROM Case WHERE Id = '{case['Id']}'")["totalSize"] == 1
    update_record(sandbox, "Case", case["Id"], {"Priority": "High"})  # usable again after a reset
    assert [c.kind for c in sandbox.diff()] == ["updated"]


def test_a_failed_unit_keeps_nothing(sandbox: Sandbox) -> None:
    case = _first(sandbox.conn, "SELECT Id FROM Case WHERE Priority = 'Low' ORDER BY Id LIMIT 1")
    try:
        with sandbox.atomic():
            update_record(sandbox, "Case", case["Id"], {"Priority": "High"})
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert sandbox.diff() == []
    update_record(sandbox, "Case", case["Id"], {"Priority": "High"})
    assert len(sandbox.diff()) == 1


def test_32_concurrent_sandboxes_never_see_each_other(org_url: str, sandbox_engine: Engine) -> None:
    before = _digest(org_url)
    with Sandbox(sandbox_engine) as probe:
        cases = [r["Id"] for r in run_soql(probe.conn, "SELECT Id FROM Case ORDER BY Id LIMIT 4")["records"]]
        users = [r["Id"] for r in run_soql(probe.conn, "SELECT Id FROM User ORDER BY Id LIMIT 32")["records"]]
        base_history = run_soql(probe.conn, "SELECT COUNT() FROM CaseHistory__c")["totalSize"]
    failures: list[str] = []
    start = threading.Barrier(32)

    def episode(n: int) -> None:
        owner = users[n % len(users)]
        subject = f"Episode {n} subject"
        with Sandbox(sandbox_engine) as box:
            start.wait()
            for case_id in cases:  # every episode writes the same records
                update_record(box, "Case", case_id, {"Subject": subject, "OwnerId": owner})
            start.wait()  # all 32 have written before any reads
            subjects = {
                r["Subject"]
                for r in run_soql(box.conn, "SELECT Subject FROM Case WHERE Id IN ('" + "','".join(cases) + "')")[
                    "records"
                ]
            }
            if subjects != {subject}:
                failures.append(f"episode {n} saw {subjects}")
            seen = run_soql(box.conn, "SELECT Subject FROM Case WHERE Subject LIKE 'Episode %'")["records"]
            if len(seen) != len(cases):
                failures.append(f"episode {n} saw {len(seen)} episode subjects")
            owners_changed = sum(1 for c in box.diff() if c.object == "Case")
            if owners_changed != len(cases):
                failures.append(f"episode {n} diff has {owners_changed} cases")
            history = run_soql(box.conn, "SELECT COUNT() FROM CaseHistory__c")["totalSize"]
            expected = base_history + sum(1 for _ in cases)  # one owner assignment per case, or none
            if history > expected:
                failures.append(f"episode {n} sees {history - base_history} new history rows")
            start.wait()

    threads = [threading.Thread(target=episode, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert _digest(org_url) == before
