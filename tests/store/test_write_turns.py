"""SQLite writers in one process take turns in arrival order (no starvation by the busy handler)."""

from __future__ import annotations

import threading
import time

from crm_core.store.engine import _FairLock


def test_waiters_are_served_in_arrival_order():
    lock = _FairLock()
    lock.acquire()  # the current writer
    served: list[int] = []
    arrived = threading.Semaphore(0)

    def writer(n: int) -> None:
        arrived.release()
        lock.acquire()
        served.append(n)
        lock.release()

    threads = []
    for n in range(6):  # start them one after another so that the arrival order is known
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        arrived.acquire()
        deadline = time.monotonic() + 60
        while lock._next_ticket != n + 2:  # wait until this writer has taken its ticket
            assert time.monotonic() < deadline, f"writer {n} never took its ticket"
            time.sleep(0.001)
        threads.append(thread)
    lock.release()
    for thread in threads:
        thread.join(timeout=10)
    assert served == [0, 1, 2, 3, 4, 5]


def test_a_waiter_stops_waiting_after_its_patience():
    lock = _FairLock(patience=0.05)
    lock.acquire()  # never released: e.g. a nested writer in the same thread
    done = threading.Event()

    def writer() -> None:
        lock.acquire()  # falls back to SQLite's own busy timeout instead of hanging
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert done.wait(timeout=10)
    thread.join()
