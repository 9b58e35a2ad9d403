"""Scheduler state: the alerted failure streak and the summary watermark, in a table of their
own (they lived in ``cursors`` until migration 0004)."""

from __future__ import annotations

from datetime import timedelta, timezone

from storage.db import open_store
from storage.repositories import SqlStore

from .conftest import T0


def test_nothing_is_alerted_or_summarised_at_first(store: SqlStore) -> None:
    assert store.alerted_failure_since() is None
    assert store.summary_watermark() is None


def test_the_alerted_streak_is_recorded_then_cleared(store: SqlStore) -> None:
    store.set_alerted_failure_since(T0)
    assert store.alerted_failure_since() == T0
    store.set_alerted_failure_since(None)
    assert store.alerted_failure_since() is None


def test_the_streak_and_the_watermark_are_kept_apart(store: SqlStore) -> None:
    store.set_summary_watermark(T0 + timedelta(microseconds=1))
    store.set_alerted_failure_since(T0 + timedelta(hours=1))
    store.set_alerted_failure_since(None)
    assert store.summary_watermark() == T0 + timedelta(microseconds=1)
    store.set_summary_watermark(T0 + timedelta(days=1))
    assert store.alerted_failure_since() is None
    assert store.summary_watermark() == T0 + timedelta(days=1)


def test_times_come_back_in_utc(store: SqlStore) -> None:
    local = T0.astimezone(timezone(timedelta(hours=-5)))
    store.set_summary_watermark(local)
    watermark = store.summary_watermark()
    assert watermark == T0 and watermark is not None and watermark.utcoffset() == timedelta(0)


def test_the_state_is_shared_by_every_process_and_is_not_a_cursor(db_url: str) -> None:
    with open_store(db_url) as first, open_store(db_url, migrate=False) as second:
        first.set_alerted_failure_since(T0)
        first.set_summary_watermark(T0)
        assert second.alerted_failure_since() == T0 and second.summary_watermark() == T0
        assert second.get_mark("alert") is None and second.get_mark("summary") is None
