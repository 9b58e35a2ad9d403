"""The scheduler's Firehose job: added every SELL_FIREHOSE_SECONDS over the real Sell client,
not at 0, and a follow that cannot run now (a run holds the lock) stores nothing."""

from __future__ import annotations

from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from bot.firehose_job import FIREHOSE_JOB, add_firehose_job, follow_firehose
from bot.scheduler import LogNotifier, build_scheduler
from bot.settings import AppSettings
from sandbox import Sandbox
from sync.errors import RunInProgress
from sync.feeds.firehose import firehose_name
from sync.firehose import Followed, firehose_follower
from sync.pipeline.firehose import FollowResult
from sync.service import SyncService
from tests.e2e.conftest import engine_over


def _settings(**values: object) -> AppSettings:
    return AppSettings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_e3_the_job_runs_every_sell_firehose_seconds(sb: Sandbox, tmp_path: Path) -> None:
    sb.reset("empty")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    with engine_over(sb, f"sqlite:///{tmp_path}/job.db", list_id) as engine:
        service = SyncService(engine)
        scheduler = BackgroundScheduler()
        assert add_firehose_job(scheduler, _settings(), service)
        job = scheduler.get_job(FIREHOSE_JOB)
        assert job is not None and job.trigger.interval.total_seconds() == 5
        off = BackgroundScheduler()
        assert not add_firehose_job(off, _settings(sell_firehose_seconds=0), service)
        assert off.get_job(FIREHOSE_JOB) is None


def test_e3_the_worker_scheduler_follows_the_firehose(sb: Sandbox, tmp_path: Path) -> None:
    sb.reset("empty")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    with engine_over(sb, f"sqlite:///{tmp_path}/job.db", list_id) as engine:
        scheduler = build_scheduler(
            _settings(sell_firehose_seconds=7), SyncService(engine), LogNotifier()
        )
        job = scheduler.get_job(FIREHOSE_JOB)
        assert job is not None and job.trigger.interval.total_seconds() == 7
        assert job.max_instances == 1 and job.coalesce is True


def test_e3_a_follow_refused_by_a_running_run_stores_nothing(sb: Sandbox, tmp_path: Path) -> None:
    sb.reset("empty")
    sb.sell.firehose.enabled = True
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    with engine_over(sb, f"sqlite:///{tmp_path}/job.db", list_id) as engine:
        service = SyncService(engine)
        follower = firehose_follower(service)
        assert follower is not None
        result = follow_firehose(follower)
        assert isinstance(result, FollowResult) and result.outcome is Followed.READ
        before = engine.store.get_mark(firehose_name("lead"))
        lead = sb.sell.add_record("lead", {"last_name": "Busy"})
        assert lead

        def busy(refs: object) -> bool:
            raise RunInProgress(None, released_with_process=True, expires_at=None)

        follower.apply = busy
        assert follow_firehose(follower) is None  # no traceback, nothing stored
        assert engine.store.get_mark(firehose_name("lead")) == before
