"""The background sync of a running workstation: when to sync, on which thread, what happened.

One ``SyncController`` lives as long as the open clinic (``ui/app.py``), signed in or not: sync
acts as the *device* (its credential in the keyring), not as the person at the desk. It syncs

- shortly after start, then every ``interval_ms`` (5 minutes, a little jitter);
- ``change_delay_ms`` (10 s) after a local change was committed (``outbox.changed``), so that a
  burst of edits leaves in one sync and reaches the other workstations within seconds;
- when the network comes back (``QNetworkInformation``) or a person asks ("Sync now");
- while the server cannot be reached: again after a capped, jittered exponential backoff
  (``backoff.py``); a retry that gets through resets it.

Never on the GUI thread and never two at once: one sync runs at a time on the controller's own
worker thread (a trigger meanwhile queues one more sync after it). It is not the ``ui.ops``
database worker because a sync mostly waits on the network: the person's database calls must
not queue behind it. Both threads share the database's single pooled connection at transaction
granularity (the engine commits a page at a time and holds no connection while it waits on the
server), so a person's call waits at most for one page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ...domain.errors import Cancelled, UserError
from ...domain.session import StaffSession
from ...services.sync_service import NotEnrolled
from ...sync.transport import SyncOffline
from ..errors import message_for
from ..ops import run_op
from ..widgets.change_bus import change_bus
from .backoff import Backoff

log = logging.getLogger(__name__)

OFFLINE_TEXT = "The sync server cannot be reached. Changes are kept here and sent when it is back."


class SyncController(QObject):
    status_changed = Signal(object)  # SyncStatus
    sync_started = Signal(str)  # why: start, timer, change, retry, network, person, enrolled
    sync_progress = Signal(str, int, int)  # phase, done, total
    sync_finished = Signal(object)  # SyncResult
    sync_failed = Signal(str, bool)  # message safe to show, offline

    def __init__(self, ctx: Any, parent: QObject | None = None, *, interval_ms: int = 300_000,
                 change_delay_ms: int = 10_000, first_after_ms: int = 5_000,
                 backoff: Backoff | None = None, watch_network: bool = True) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.interval_ms, self.change_delay_ms = interval_ms, change_delay_ms
        self.first_after_ms = first_after_ms
        self.backoff = backoff or Backoff()
        self.running = False
        self.offline = False
        self.failures = 0  # consecutive failures to reach the server
        self.enrolled: bool | None = None  # None: not known yet
        self.status: Any = None  # the last SyncStatus
        self.last_error: str | None = None
        self.next_at: float | None = None  # time.monotonic() of the next planned sync
        self.next_delay_ms = 0
        self.syncs = 0  # finished syncs (tests, diagnostics)
        self._again = False
        self._stopping = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pms-sync")
        self._next = self._timer(self._planned)
        self._change = self._timer(self._changed)
        self._status_soon = self._timer(self.refresh_status)
        self._next_reason = "timer"
        change_bus(ctx).changed.connect(self._on_change)
        if watch_network:
            self._watch_network()

    def _timer(self, slot: Any) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(slot)
        return timer

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self.refresh_status()
        self._plan(self.first_after_ms, "start")

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Stop planning syncs and let a running one stop at its next page (the engine commits
        page by page, so nothing is lost). True when the worker is idle within the timeout."""
        self._stopping.set()
        for timer in (self._next, self._change, self._status_soon):
            timer.stop()
        idle = self.wait_idle(timeout_s)
        self._executor.shutdown(wait=False)
        return idle

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until the sync thread has nothing to do (shutdown, tests)."""
        try:
            self._executor.submit(lambda: None).result(timeout=timeout_s)
        except RuntimeError:  # already shut down
            return True
        except TimeoutError:
            return False
        return True

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The sync thread: enrolment runs here too, never beside a sync."""
        return self._executor

    # -- triggers ------------------------------------------------------------------------------

    def sync(self, reason: str = "person", session: StaffSession | None = None) -> bool:
        """Start one sync now unless one is running (then one more follows it). With a
        ``session`` it is a person's "Sync now": permission checked and in the access log."""
        not_enrolled = self.enrolled is False and reason not in ("person", "enrolled")
        if self._stopping.is_set() or not_enrolled:
            return False
        if self.running:
            self._again = True
            return False
        self.running = True
        self._next.stop()
        self._change.stop()
        self.next_at = None
        self.sync_started.emit(reason)
        service, stop = self.ctx.sync, self._stopping

        def work(report: Any) -> Any:
            def progress(phase: str, done: int, total: int) -> None:
                if stop.is_set():
                    raise Cancelled()
                report(done, total, phase)

            if session is not None:
                return service.sync_now(session, progress=progress)
            return service.run_sync(progress=progress)

        run_op(None, work, self._finished, self._failed, on_progress=self._progressed,
               executor=self._executor)
        return True

    def enrolment_finished(self) -> None:
        """A clinic admin enrolled this workstation: its first sync starts now."""
        self.enrolled, self.failures, self.offline = True, 0, False
        self.sync("enrolled")

    def network_changed(self, reachable: bool) -> None:
        """The operating system says the network came back: do not wait for the backoff."""
        if reachable and self.offline and not self.running:
            self.failures = 0
            self.sync("network")

    def _changed(self) -> None:
        self.sync("change")

    def _planned(self) -> None:
        self.sync(self._next_reason)

    def _plan(self, delay_ms: int, reason: str) -> None:
        if self._stopping.is_set():
            return
        self._next_reason = reason
        self._next.start(max(0, delay_ms))
        self.next_delay_ms = delay_ms
        self.next_at = time.monotonic() + delay_ms / 1000

    def _on_change(self, topic: str, _info: dict[str, Any]) -> None:
        if topic == "outbox.changed":
            self._status_soon.start(250)
            if self.running:
                self._again = True
            elif not self.offline and self.enrolled is not False and not self._change.isActive():
                # The first change of a burst starts the clock: at most one delay behind.
                self._change.start(self.change_delay_ms)
        elif topic.startswith("sync."):
            self._status_soon.start(250)

    # -- results (GUI thread) ------------------------------------------------------------------

    def _progressed(self, done: int, total: int, phase: str) -> None:
        self.sync_progress.emit(phase, done, total)

    def _finished(self, result: Any) -> None:
        self.running, self.offline, self.failures, self.last_error = False, False, 0, None
        self.enrolled = True
        self.syncs += 1
        self.sync_finished.emit(result)
        self._after_run()

    def _failed(self, error: BaseException) -> None:
        self.running = False
        if isinstance(error, Cancelled):
            return
        if isinstance(error, NotEnrolled):  # not yet, or its credential is gone from the keyring
            self.enrolled, self.last_error = False, str(error)
            self.refresh_status()
            return
        if isinstance(error, SyncOffline):
            self.offline, self.failures = True, self.failures + 1
            self.last_error = OFFLINE_TEXT
            self._after_run(self.backoff.delay_ms(self.failures), "retry")
            self.sync_failed.emit(self.last_error, True)
            return
        # The server answered but refused (revoked device, bad data) or a bug: not offline, and
        # not worth hammering: try again at the usual interval.
        self.offline, self.failures = False, 0
        self.last_error = str(error) if isinstance(error, UserError) else message_for(error)
        log.warning("sync failed: %s", type(error).__name__)
        self._after_run()
        self.sync_failed.emit(self.last_error or "", False)

    def _after_run(self, delay_ms: int | None = None, reason: str = "timer") -> None:
        if delay_ms is None:
            delay_ms = int(self.interval_ms * random.uniform(0.9, 1.1))
        self._plan(delay_ms, reason)
        self.refresh_status()
        if self._again and not self.offline:
            self._again = False
            self._change.start(min(self.change_delay_ms, 1_000))

    # -- status --------------------------------------------------------------------------------

    def refresh_status(self) -> None:
        if self._stopping.is_set():
            return
        run_op(None, self.ctx.sync.device_status, self._status_loaded, self._status_failed)

    def _status_loaded(self, status: Any) -> None:
        self.status = status
        if self.enrolled is None or not status.enrolled:
            self.enrolled = bool(status.enrolled)
        self.status_changed.emit(status)

    def _status_failed(self, error: BaseException) -> None:
        log.warning("sync status not read: %s", type(error).__name__)

    # -- the network ---------------------------------------------------------------------------

    def _watch_network(self) -> None:
        try:
            from PySide6.QtNetwork import QNetworkInformation
        except ImportError:  # pragma: no cover - QtNetwork is part of PySide6-Essentials
            return
        feature = QNetworkInformation.Feature.Reachability
        if not QNetworkInformation.loadBackendByFeatures(feature):
            return  # no backend on this system: the backoff retries find the server anyway
        info = QNetworkInformation.instance()
        if info is None:
            return
        info.reachabilityChanged.connect(self._reachability_changed)

    def _reachability_changed(self, reachability: Any) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        r = QNetworkInformation.Reachability
        self.network_changed(reachability in (r.Online, r.Site, r.Local))
