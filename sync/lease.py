"""The run lease: the one place that decides which process may run a sync.

Runs must never overlap, whoever starts them (SPEC §4, §7): several ``web`` processes, the
``worker`` and a manager's ``sellsync sync``, on one host or many, in containers that may share a
host name and whose process ids mean nothing outside their own PID namespace, and processes that
can be paused (SIGSTOP, a frozen VM, a debugger) for longer than any stage takes. And a run whose
process died (``kill -9``, a full disk, a stopped container) must not block the next one. So the
lease stands on two locks:

* **a process lock**, taken first (:meth:`sync.ports.LeaseStore.hold_lock`): one that the
  operating system or the database drops with the process that holds it, or its database
  session: a PostgreSQL session advisory lock (across hosts), a ``flock`` beside a SQLite file
  (one host). While its holder lives, paused or not, nobody else gets it; once it is gone, the
  next run gets it at once. It proves the holder gone; nothing else here does;
* **the lease row** of the ``locks`` table: who holds the run, until when. Its owner is **a fresh
  uuid4 per run**: nothing in it comes from the host or the process, which two containers may
  share, so nobody decides from it that its holder is gone. The owner says only whether its
  holder also held the process lock: a run that holds that lock now takes such a row over at
  once (its holder is gone, or the lock would not be free). Any other row, and any row where no
  process lock exists (in-memory SQLite, a lock file that cannot be opened), is taken over only
  once it has **expired**: it expires a short TTL ahead (``SYNC_LOCK_TTL_SECONDS``, 120 s by
  default), and the holder renews it every TTL/3 from a daemon thread and at every page of the
  run, so it expires only after its holder missed its renewals for a whole TTL;
* **a holder that loses the lease stops**: a renewal that no longer finds the row its own (taken
  over, or released and taken again), or finds its process lock gone (its database session
  ended), marks the lease lost. The run renews before each page's writes and at the end of each
  page, and checks the lease before every store call (:meth:`RunLease.guard`) and every Sell
  write: once it is lost the run fails with "lost the lock" and writes nothing more;
* **a holder stops trusting a stale lease**: when its last confirmed renewal is older than half
  the TTL (the heartbeat could not run: the process was paused, or the database was away), the
  next check renews before anything is written, instead of writing on the strength of a lease
  that may have expired. The monotonic clock it measures this with keeps running while a process
  is stopped, so a process resumed behind a new holder's back stops before its first write.

Expiry times come from the engine's clock (UTC wall time, kept by NTP on every host): the TTL
must stay well above the clock skew between hosts, which 120 s does by orders of magnitude.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, cast

from sync.errors import LeaseLost
from sync.ports import Clock, LeaseStore, LockHold

log = logging.getLogger("sellsync.lease")

DEFAULT_TTL_SECONDS = 120

#: Store methods a guarded store passes through unchecked: the lease's own.
LOCK_METHODS = frozenset(
    {"try_lock", "renew_lock", "unlock", "lock_holder", "purge_locks", "hold_lock", "lock_expiry"}
)

#: Ends the owner of a lease row whose holder also held the process lock (see above).
HELD_MARK = "+held"

S = TypeVar("S")


def new_owner() -> str:
    """A lease owner id: random, unique per run, not derivable from the host or the process."""
    return uuid.uuid4().hex


def held_under_process_lock(owner: str) -> bool:
    """Whether the holder of a row of this owner also held the process lock."""
    return owner.endswith(HELD_MARK)


class RunLease:
    """One run's hold on the lock ``name``. Take it with :meth:`acquire`; use it as a context
    manager around the run's work (the heartbeat runs inside); :meth:`release` at the end."""

    def __init__(
        self,
        store: LeaseStore,
        clock: Clock,
        *,
        name: str,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        heartbeat_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("a lease needs a positive TTL")
        self.store = store
        self.clock = clock
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.heartbeat_seconds = heartbeat_seconds or ttl_seconds / 3
        self.owner = new_owner()  # ends with HELD_MARK once taken with the process lock
        #: Why :meth:`acquire` said no: ``"process"`` (a live process holds the process lock)
        #: or ``"lease"`` (an unexpired row of a holder that may be alive); None otherwise.
        self.refused_by: str | None = None
        #: The owner of the row this lease took over from a holder that was gone, if any.
        self.took_over: str | None = None
        self._hold: LockHold | None = None
        self._monotonic = monotonic
        self._confirmed: float | None = None  # monotonic time before the last renewal that held
        self._lost = False
        self._renewing = threading.Lock()  # the heartbeat and the run renew one at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ taking and giving back
    def acquire(self) -> bool:
        """Take the lease: the process lock first, then the row when it is free, expired, or
        left by a holder that held the process lock (gone, since that lock is free now).
        False while another run holds either (see :attr:`refused_by`)."""
        self.refused_by = self.took_over = None
        hold = self.store.hold_lock(self.name)
        if hold is None:
            self.refused_by = "process"
            return False
        try:
            taken = self._take_row(hold)
        except BaseException:
            hold.release()
            raise
        if not taken:
            hold.release()
            self.refused_by = "lease"
            return False
        self._hold = hold
        log.info(  # where it runs, for whoever reads the log; never used to decide anything
            "lease %r taken by %s (pid %d on %s) for %d s%s",
            self.name,
            self.owner,
            os.getpid(),
            socket.gethostname(),
            self.ttl_seconds,
            f", under {hold.kind}" if hold.kind else "",
        )
        return True

    def _take_row(self, hold: LockHold) -> bool:
        started = self._monotonic()
        base = self.owner.removesuffix(HELD_MARK)
        self.owner = base + HELD_MARK if hold.kind else base
        taken = self.store.try_lock(
            self.name, owner=self.owner, at=self.clock.now(), ttl_seconds=self.ttl_seconds
        )
        if not taken and hold.kind:
            previous = self.store.lock_holder(self.name)
            if previous is not None and held_under_process_lock(previous):
                # Its holder held the process lock, which is ours now: it is gone.
                self.store.unlock(self.name, owner=previous)
                taken = self.store.try_lock(
                    self.name, owner=self.owner, at=self.clock.now(), ttl_seconds=self.ttl_seconds
                )
                if taken:
                    self.took_over = previous
                    log.warning(
                        "lease %r: its holder %s is gone (its %s was free): taken over at once",
                        self.name,
                        previous,
                        hold.kind,
                    )
        if taken:
            self._confirmed = started
        return taken

    def release(self) -> None:
        """Stop the heartbeat and free the lock (only if it is still ours)."""
        self.stop_heartbeat()
        hold, self._hold = self._hold, None
        try:
            self.store.unlock(self.name, owner=self.owner)
        finally:
            if hold is not None:
                hold.release()

    # ------------------------------------------------------------------ while the run works
    @property
    def lost(self) -> bool:
        return self._lost

    def renew(self) -> None:
        """Extend the lease now; raises :class:`LeaseLost` when it is no longer ours."""
        with self._renewing:
            if not self._lost:
                started = self._monotonic()
                hold = self._hold
                held = (hold is None or hold.alive()) and self.store.renew_lock(
                    self.name, owner=self.owner, at=self.clock.now(), ttl_seconds=self.ttl_seconds
                )
                if held:
                    self._confirmed = started
                else:
                    self._lost = True
                    log.warning("lease %r of %s was lost: stopping", self.name, self.owner)
        if self._lost:
            raise LeaseLost(self.name)

    def check(self) -> None:
        """Before writing: raise :class:`LeaseLost` if the lease is lost; renew it first when
        its last confirmation is too old to be sure it has not expired meanwhile."""
        if self._lost:
            raise LeaseLost(self.name)
        confirmed = self._confirmed
        if confirmed is None or self._monotonic() - confirmed >= self.ttl_seconds / 2:
            self.renew()

    def guard(self, store: S) -> S:
        """``store`` with a :meth:`check` before every call (but the lock methods)."""
        return cast(S, _GuardedStore(store, self))

    # ------------------------------------------------------------------ heartbeat
    def __enter__(self) -> RunLease:
        self.start_heartbeat()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_heartbeat()

    def start_heartbeat(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._beat, name=f"lease-{self.name}", daemon=True
            )
            self._thread.start()

    def stop_heartbeat(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                self.renew()
            except LeaseLost:
                return  # the run sees it at its next check
            except Exception as exc:  # the database is away: try again at the next beat
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                log.warning(
                    "could not renew lease %r: %s: %s", self.name, type(exc).__name__, first
                )


class _GuardedStore:
    """A store whose every method first checks the lease: a run holding it cannot forget to."""

    def __init__(self, store: object, lease: RunLease) -> None:
        self._store = store
        self._lease = lease

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in LOCK_METHODS or name.startswith("_") or not callable(attr):
            return attr
        lease = self._lease

        def checked(*args: Any, **kwargs: Any) -> Any:
            lease.check()
            return attr(*args, **kwargs)

        return checked
