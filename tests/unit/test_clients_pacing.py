"""RollingWindowPacer math with an injected clock, and its thread safety."""

from __future__ import annotations

import threading
import time

import pytest

from sync.clients.pacing import RollingWindowPacer, Unpaced


class FakeClock:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def test_allows_max_calls_then_waits_for_the_oldest_to_leave_the_window() -> None:
    clock = FakeClock()
    pacer = RollingWindowPacer(3, 10.0, clock=clock, sleep=clock.sleep, safety=0.0)
    assert [pacer.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.sleeps == []
    assert pacer.acquire() == pytest.approx(10.0)
    assert clock.now == pytest.approx(1010.0)


def test_rolling_window_never_exceeds_the_limit_in_any_window() -> None:
    clock = FakeClock()
    pacer = RollingWindowPacer(5, 1.0, clock=clock, sleep=clock.sleep, safety=0.0)
    sent: list[float] = []
    for i in range(40):
        if i % 7 == 0:
            clock.now += 0.3  # irregular arrivals
        pacer.acquire()
        sent.append(clock.now)
    for i in range(len(sent) - 5):
        assert sent[i + 5] - sent[i] >= 1.0 - 1e-9
    # and it is not slower than needed: 40 calls at 5/s take about 7-8 s, not more
    assert sent[-1] - sent[0] < 8.5


def test_safety_margin_widens_the_window() -> None:
    clock = FakeClock()
    pacer = RollingWindowPacer(1, 1.0, clock=clock, sleep=clock.sleep, safety=0.25)
    pacer.acquire()
    assert pacer.acquire() == pytest.approx(1.25)


def test_pause_holds_everyone() -> None:
    clock = FakeClock()
    pacer = RollingWindowPacer(100, 10.0, clock=clock, sleep=clock.sleep, safety=0.0)
    pacer.pause(4.0)
    assert pacer.delay() == pytest.approx(4.0)
    assert pacer.acquire() == pytest.approx(4.0)
    assert pacer.acquire() == 0.0
    assert pacer.waited == pytest.approx(4.0)


def test_hubspot_general_and_search_rates() -> None:
    clock = FakeClock()
    general = RollingWindowPacer(190, 10.0, clock=clock, sleep=clock.sleep, safety=0.0)
    start = clock.now
    for _ in range(380):
        general.acquire()
    assert clock.now - start == pytest.approx(10.0)  # 190 now, 190 ten seconds later
    search = RollingWindowPacer(5, 1.0, clock=clock, sleep=clock.sleep, safety=0.0)
    start = clock.now
    for _ in range(11):
        search.acquire()
    assert clock.now - start == pytest.approx(2.0)


class RecordingPacer(RollingWindowPacer):
    """Notes the time of every granted slot (decided under the pacer's lock)."""

    granted: list[float]

    def _delay_locked(self, now: float) -> float:
        wait = super()._delay_locked(now)
        if wait <= 0:
            self.granted.append(now)
        return wait


def test_thread_safe_with_real_clock() -> None:
    pacer = RecordingPacer(20, 0.2, safety=0.0)
    pacer.granted = []

    def worker() -> None:
        for _ in range(10):
            pacer.acquire()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = pacer.granted
    assert len(granted) == 60
    assert time.monotonic() - started >= 0.4  # the 41st slot opens 0.4 s after the first
    for i in range(len(granted) - 20):
        assert granted[i + 20] - granted[i] >= 0.2 - 1e-9


def test_invalid_and_unpaced() -> None:
    with pytest.raises(ValueError):
        RollingWindowPacer(0, 1.0)
    unpaced = Unpaced()
    assert unpaced.acquire() == 0.0
    unpaced.pause(5)
    assert unpaced.delay() == 0.0
