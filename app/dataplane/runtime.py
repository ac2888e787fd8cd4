"""The data plane's per-process runtime: one :class:`Verifier` per process, cache invalidation
across processes, and the reactions to merchant events (a feature of ``app.plugins``).

Invalidation: services publish ``keys_changed``; the subscriber here notes the merchant and
key ids on the session, and once that session *commits* (not before, or a concurrent reload
could cache the old row again) every process drops them: the local cache directly, the others
through Redis pub/sub on :data:`CHANNEL` when ``KYB_REDIS_URL`` is set. Each process listens on
a daemon thread; a lost connection clears the whole cache and reconnects. Without Redis the
cache TTL is one second, so a revocation still reaches every worker within a second. On
this host it reaches every process at once: the change also bumps the host's generation
counter (``app.dataplane.generation``), which every verification reads first.

The blacklist index (``app.services.blacklist_index``) rides the same path: a committed
blacklist change marks this process's index stale and publishes ``{"b": 1}`` on the channel;
without Redis each process re-reads the blacklist's generation at most once a second.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, jsonify, request
from sqlmodel import Session

from api_keys.cache import KeyRecordCache
from api_keys.tokens import Peppers
from app.audit.batcher import AuditBatcher, sqlite_writer_engine
from app.audit.figures import both, figures_in_batch
from app.dataplane.generation import FILE_NAME as GENERATION_FILE
from app.dataplane.generation import GenerationWatch, HostGeneration
from app.dataplane.journal import Journal
from app.dataplane.pacing import Pacing, WriterClock
from app.dataplane.spend import HostSpend, host_spend
from app.db import utcnow
from app.models import ApiKey
from app.services import blacklist_index, hooks
from app.services.api_anomalies import AnomalyMonitor
from app.services.assessments import active_policy
from app.services.blacklist_alerts import BlacklistAlerts
from app.services.figure_crossings import FiguresObserver
from app.services.verification import Verifier

log = logging.getLogger("kybgate.keys")
CHANNEL = "kybgate:keys:invalidate"
EXTENSION = "kyb.keys"
_PENDING = "kyb.keys_changed"


class KeysRuntime:
    """Per-app, per-process state: verifier, cache, audit batcher, Redis listener."""

    def __init__(self, app: Flask) -> None:
        settings = app.extensions["kyb.settings"]
        engine = reader = writer = app.extensions["kyb.engine"]
        if engine.dialect.name == "sqlite":
            # Reads in autocommit (WAL readers never wait for a writer); the audit writer
            # takes the write lock with short retries (see ``sqlite_writer_engine``).
            url = engine.url.render_as_string(hide_password=False)
            reader = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                         "timeout": 30})
            writer = sqlite_writer_engine(url)
        self.engines = (reader, writer) if reader is not engine else ()
        self.reader = reader  # the data plane's reads (bearers, key records)
        self.redis_url = settings.redis_url
        ttl = 5.0 if self.redis_url else 1.0
        self.cache = KeyRecordCache(ttl_seconds=ttl, negative_ttl_seconds=min(ttl, 1.0))
        policy = active_policy(settings.policy_path)  # KYB_POLICY: caps, rates, thresholds
        self.monitor = AnomalyMonitor(reader, policy=policy, writer=writer)
        # Verification traffic in the running figures (R-A4/R-A5/R-A7): counted in the audit
        # commit, re-judged by this observer off the commit path.
        self.figures = FiguresObserver(writer, policy, app)
        self.blacklist_alerts = BlacklistAlerts(writer, policy)
        self.blacklist = blacklist_index.BlacklistSnapshots(
            reader, recheck_seconds=5.0 if self.redis_url else 1.0)
        self.batcher: AuditBatcher | Journal
        self.journalled = bool(settings.audit_journal_dir)
        self.pacing: Pacing | None = None
        if self.journalled:  # ``kybgate serve``: the host's audit writer ships the journals
            # and runs the monitors after its commits (``app.dataplane.shipper``); requests
            # wait while it lags more than KYB_AUDIT_MAX_LAG allows (``app.dataplane.pacing``)
            self.batcher = Journal(settings.audit_journal_dir, fsync=settings.audit_fsync)
            try:
                self.pacing = Pacing(WriterClock(settings.audit_journal_dir),
                                     settings.audit_max_lag)
            except OSError as exc:  # the journal fails too: each answer is 503, not a crash
                log.error("audit writer clock unavailable (%s): verifications not paced", exc)
        else:  # a writer thread in this process (development server, tests, CLI)
            self.batcher = AuditBatcher(writer, in_batch=audit_in_batch(policy),
                                        after_commit=self._after_audit_commit)
        # Revocation at once on this host: bumped after a key change commits, read by every
        # verification in every process of the host (``app.dataplane.generation``).
        self.generation = HostGeneration(os.path.join(settings.instance_path, GENERATION_FILE))
        # Exact daily/monthly caps decided here, before the answer (``app.dataplane.spend``):
        # shared with every process of the host, leased from the database in slices.
        self.spend = host_spend(settings.instance_path, engine)
        accept_live = app.config.get("KYB_ACCEPT_LIVE_KEYS", settings.accept_live_keys)
        self.verifier = Verifier(
            engine=reader, peppers=Peppers(settings.token_peppers, settings.token_pepper_version),
            batcher=self.batcher, cache=self.cache, accept_test_keys=settings.accept_test_keys,
            accept_live_keys=str(accept_live).strip().lower() in {"1", "true", "yes", "on"},
            policy=policy, blacklist=self.blacklist,
            on_blacklisted=None if self.journalled else self._on_blacklisted,
            watch=GenerationWatch(self.generation), spend=self.spend, pacing=self.pacing)
        self._held: list[tuple[Any, Any]] | None = None
        self._redis: Any = None
        self._listener_pid: int | None = None
        self._lock = threading.Lock()
        self.stop = threading.Event()
        threading.Thread(target=_release_idle, args=(weakref.ref(self.spend), self.stop),
                         name="kyb-spend-release", daemon=True).start()

    def _after_audit_commit(self, drafts: Any, stored: Any) -> None:
        held = self._held
        if held is not None:
            held.append((self._after_audit_commit, (drafts, stored)))
            return
        self.monitor.observe(drafts, stored)
        self.figures.observe(drafts, stored)

    def after_shipping(self, drafts: Any, stored: Any) -> None:
        """The monitors of journalled events, in the host's audit writer after it chained
        them (``app.dataplane.shipper``): API anomalies, figure crossings, blacklist alerts."""
        self._after_audit_commit(drafts, stored)
        self._on_blacklisted(drafts)  # picks the ``blacklisted`` verifications itself

    def _on_blacklisted(self, drafts: Any, stored: Any = None) -> None:
        held = self._held
        if held is not None:
            held.append((self._on_blacklisted, (drafts, stored)))
            return
        self.blacklist_alerts.observe(drafts, stored)

    @contextmanager
    def observers_held(self) -> Iterator[None]:
        """Hold back the background observers (API anomalies, figures, blacklist alerts) of
        the verifications committed in the block, and hand them over when it ends. For a load
        that replays past traffic in time order (``kybgate demo``): the observers date their
        alerts and verdicts when they run, so running them during the replay would put
        today's events between yesterday's."""
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            for observe, args in held:
                observe(*args)

    def ensure_listening(self) -> None:
        """Start this process's Redis listener (once per process; after fork again)."""
        if not self.redis_url or self._listener_pid == os.getpid():
            return
        with self._lock:
            if self._listener_pid == os.getpid():
                return
            ready = threading.Event()
            threading.Thread(target=self._listen, args=(ready,), name="kyb-keys-listener",
                             daemon=True).start()
            self._listener_pid = os.getpid()
        ready.wait(timeout=2.0)

    def _listen(self, ready: threading.Event) -> None:
        import redis
        while not self.stop.is_set():
            try:
                client = redis.Redis.from_url(self.redis_url, socket_keepalive=True,
                                              health_check_interval=30)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                pubsub.get_message(timeout=1.0)  # the subscription confirmation
                self.cache.clear()  # anything published while we were away is lost
                self.blacklist.mark_stale()
                ready.set()
                while not self.stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self.apply(json.loads(message["data"]))
                pubsub.close()
            except Exception:
                log.warning("Redis key invalidation listener lost its connection; retrying")
                self.cache.clear()
                self.blacklist.mark_stale()
                ready.set()
                self.stop.wait(1.0)

    def apply(self, message: dict[str, Any]) -> None:
        """Drop the records a change message names from this process's cache."""
        for key_id in message.get("k") or []:
            self.cache.invalidate(str(key_id))
        if message.get("m"):
            self.cache.invalidate_merchant(str(message["m"]))
        if message.get("b"):
            self.blacklist.mark_stale()

    def invalidate(self, merchant_id: str | None, key_ids: list[str]) -> None:
        """Drop these records here, in every process of this host at once (the generation),
        and through Redis in every other host's processes."""
        self.generation.bump()
        self.publish({"m": merchant_id, "k": list(key_ids)})

    def blacklist_changed(self) -> None:
        """The blacklist changed: refresh the index here and in every other process."""
        self.publish({"b": 1})

    def publish(self, message: dict[str, Any]) -> None:
        """Apply an invalidation message here and publish it to the other processes."""
        self.apply(message)
        if not self.redis_url:
            return
        try:
            if self._redis is None:
                import redis
                self._redis = redis.Redis.from_url(self.redis_url, socket_timeout=1.0)
            self._redis.publish(CHANNEL, json.dumps(message))
        except Exception:  # the TTL still bounds staleness
            log.exception("could not publish a key invalidation to Redis")


def _release_idle(spend_ref: weakref.ref[HostSpend], stop: threading.Event) -> None:
    """Give unspent leases of idle totals back to the database about once a second (what a
    dead process of the host left, once at start), so no budget stays stranded here. Ends
    with its runtime (a weak reference: a discarded app's table is not kept open)."""
    everything = True
    while (spend := spend_ref()) is not None:
        try:
            spend.release_idle(utcnow(), everything=everything)
            everything = False
        except Exception:  # noqa: BLE001 - the next round retries; nothing is over-allowed
            log.exception("spend: idle release failed")
        del spend
        if stop.wait(1.0):
            return


def runtime(app: Flask | None = None) -> KeysRuntime:
    """The app's keys runtime (created on first use in this process)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get(EXTENSION)
    if state is None or state[0] != os.getpid():
        state = (os.getpid(), KeysRuntime(app))
        app.extensions[EXTENSION] = state
    state[1].ensure_listening()
    return state[1]


def verifier(app: Flask | None = None) -> Verifier:
    """The process's :class:`Verifier`."""
    return runtime(app).verifier


# Plain SQL once per batch: building an ORM update per key cost more than the update.
_USAGE_SQL = sa.text("UPDATE api_key SET use_count = use_count + :n, last_used_at = :at, "
                     "last_used_ip = :ip WHERE id = :key_id").bindparams(
    sa.bindparam("at", type_=ApiKey.__table__.c.last_used_at.type))


def writer_shipper(app: Flask, engine: sa.Engine, directory: str, **options: Any
                   ) -> tuple[Any, KeysRuntime]:
    """The host's audit writer as ``kybgate audit writer`` runs it (and ``bench/shipper.py``
    measures it): a :class:`~app.dataplane.shipper.Shipper` of ``directory`` into ``engine``
    with the in-batch hooks of the active policy and this process's monitors after each
    commit; returns it and the runtime whose monitors to drain on the way out."""
    from app.dataplane.shipper import Shipper
    from app.jobs.monitoring import queue_scenarios
    observers = runtime(app)
    # The scenarios over verification traffic cost seconds for a busy merchant: the job
    # worker judges them, never this process's interpreter (app.jobs.monitoring).
    observers.monitor.run_scenarios = queue_scenarios(app)
    policy = active_policy(app.extensions["kyb.settings"].policy_path)
    return Shipper(engine, directory, in_batch=audit_in_batch(policy),
                   after_commit=observers.after_shipping, **options), observers


def audit_in_batch(policy: Any) -> Any:
    """What every audit commit does besides chaining: key usage counters and the merchants'
    running figures (``app.audit.figures``)."""
    return both(count_usage, figures_in_batch(policy))


def count_usage(conn: sa.Connection, drafts: Any) -> None:
    """Key usage counters, updated once per audit batch in its transaction."""
    usage: dict[str, tuple[int, Any, Any]] = {}
    for d in drafts:
        if d.action == "api.verify" and d.decision == "allow" and d.key_id:
            count, _, _ = usage.get(d.key_id, (0, None, None))
            usage[d.key_id] = (count + 1, d.at, d.source_ip)
    if not usage:
        return
    conn.execute(_USAGE_SQL, [
        {"n": count, "at": at, "ip": ip, "key_id": key_id}
        for key_id, (count, at, ip) in usage.items()])


@hooks.subscribe("keys_changed")
def _note_keys_changed(*, session: Session, merchant_id: str, key_ids: list[str],
                       **_: Any) -> None:
    session.info.setdefault(_PENDING, []).append((merchant_id, list(key_ids)))


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if has_app_context():
        blacklist_index.after_commit(session, lambda: runtime().blacklist_changed())
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    state = runtime()
    for merchant_id, key_ids in pending:
        state.invalidate(merchant_id, key_ids)


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop("kyb.blacklist_changed", None)


def _bare() -> Any:
    """A do-nothing endpoint on the same server, the baseline of the HTTP benchmark."""
    if request.method == "POST":
        request.get_json(silent=True)
    return jsonify({"ok": True})


def init_app(app: Flask) -> None:
    """Register the merchant-event reactions and, with ``KYB_BENCH_ENDPOINTS=1``, the
    benchmark baseline ``/api/v1/bench/bare``."""
    from app.services import key_blocking  # noqa: F401 - registers its subscribers
    enabled = app.config.get("KYB_BENCH_ENDPOINTS",
                             app.extensions["kyb.settings"].bench_endpoints)
    if str(enabled or "").lower() in {"1", "true", "yes", "on"}:
        app.add_url_rule("/api/v1/bench/bare", "bench_bare", _bare, methods=["GET", "POST"])
        from app.extensions import csrf
        csrf.exempt(_bare)


def wait_idle(app: Flask, timeout: float = 5.0) -> None:
    """Let background monitoring finish (tests)."""
    deadline = time.monotonic() + timeout
    runtime(app).monitor.drain(max(0.0, deadline - time.monotonic()))
    runtime(app).figures.drain(max(0.0, deadline - time.monotonic()))
    runtime(app).blacklist_alerts.drain(max(0.0, deadline - time.monotonic()))


def close(app: Flask) -> None:
    """Stop the listener and dispose of the feature's own engines (tests)."""
    state = app.extensions.get(EXTENSION)
    if state is not None:
        state[1].stop.set()
        if isinstance(state[1].batcher, Journal):
            state[1].batcher.close()
        if state[1].pacing is not None:
            state[1].pacing.clock.close()
        for engine in state[1].engines:
            engine.dispose()
        state[1].generation.close()
        state[1].spend.close()
