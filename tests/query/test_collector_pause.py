"""The garbage collector waits while queries run and comes back as it was (threads included)."""

from __future__ import annotations

import gc
import threading

import pytest

from crm_core.query import QueryError, run_soql
from crm_core.query.engine import collections_paused, guarded


@pytest.fixture(autouse=True)
def _restore_collector():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_a_query_runs_with_the_collector_paused_and_resumes_it():
    gc.enable()
    seen = guarded(gc.isenabled)
    assert seen is False and gc.isenabled()


def test_a_failing_query_resumes_the_collector():
    gc.enable()
    with pytest.raises(QueryError):
        run_soql(None, "SELECT FROM")  # type: ignore[arg-type] - a syntax error before any connection
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_application_stays_off():
    gc.disable()
    guarded(lambda: None)
    assert not gc.isenabled()


def test_overlapping_queries_in_threads_resume_it_once_the_last_ends():
    gc.enable()
    first_inside, second_inside, release_first, release_second = (threading.Event() for _ in range(4))
    states = {}

    def query(inside: threading.Event, release: threading.Event, name: str) -> None:
        with collections_paused():
            inside.set()
            release.wait(5)
            states[name] = gc.isenabled()

    one = threading.Thread(target=query, args=(first_inside, release_first, "one"))
    two = threading.Thread(target=query, args=(second_inside, release_second, "two"))
    one.start()
    first_inside.wait(5)
    two.start()
    second_inside.wait(5)
    release_first.set()
    one.join(5)
    assert not gc.isenabled(), "the second query still runs"
    release_second.set()
    two.join(5)
    assert gc.isenabled()
    assert states == {"one": False, "two": False}
