"""The keys feature's wiring: one :class:`Verifier` per process, cache invalidation across
processes, and the reactions to merchant events (listed in ``app.plugins.FEATURES``).

Invalidation: services publish ``keys_changed``; the subscriber here notes the merchant and
key ids on the session, and once that session *commits* (not before, or a concurrent reload
could cache the old row again) every process drops them: the local cache directly, the others
through Redis pub/sub on :data:`CHANNEL` when ``KYB_REDIS_URL`` is set. Each process listens on
a daemon thread; a lost connection clears the whole cache and reconnects. Without Redis the
cache TTL is one second, so a revocation still reaches every worker within a second.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, jsonify, request
from sqlmodel import Session

from api_keys.cache import KeyRecordCache
from api_keys.tokens import Peppers
from app.audit.batcher import AuditBatcher, sqlite_writer_engine
from app.audit.writer import AuditWriterClient
from app.models import ApiKey
from app.services import hooks
from app.services.api_anomalies import AnomalyMonitor
from app.services.assessments import active_policy
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
        self.redis_url = settings.redis_url
        ttl = 5.0 if self.redis_url else 1.0
        self.cache = KeyRecordCache(ttl_seconds=ttl, negative_ttl_seconds=min(ttl, 1.0))
        policy = active_policy(settings.policy_path)  # KYB_POLICY: caps, rates, thresholds
        self.monitor = AnomalyMonitor(reader, policy=policy, writer=writer)
        self.batcher: AuditBatcher | AuditWriterClient
        if settings.audit_socket:  # the host's audit writer process (``kybgate serve``)
            self.batcher = AuditWriterClient(settings.audit_socket,
                                             after_commit=self.monitor.observe)
        else:  # a writer thread in this process (development server, tests, CLI)
            self.batcher = AuditBatcher(writer, in_batch=count_usage,
                                        after_commit=self.monitor.observe)
        accept_live = app.config.get("KYB_ACCEPT_LIVE_KEYS", settings.accept_live_keys)
        self.verifier = Verifier(
            engine=reader, peppers=Peppers(settings.token_peppers, settings.token_pepper_version),
            batcher=self.batcher, cache=self.cache, accept_test_keys=settings.accept_test_keys,
            accept_live_keys=str(accept_live).strip().lower() in {"1", "true", "yes", "on"},
            policy=policy)
        self._redis: Any = None
        self._listener_pid: int | None = None
        self._lock = threading.Lock()
        self.stop = threading.Event()

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
                ready.set()
                while not self.stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self.apply(json.loads(message["data"]))
                pubsub.close()
            except Exception:
                log.warning("Redis key invalidation listener lost its connection; retrying")
                self.cache.clear()
                ready.set()
                self.stop.wait(1.0)

    def apply(self, message: dict[str, Any]) -> None:
        """Drop the records a change message names from this process's cache."""
        for key_id in message.get("k") or []:
            self.cache.invalidate(str(key_id))
        if message.get("m"):
            self.cache.invalidate_merchant(str(message["m"]))

    def invalidate(self, merchant_id: str | None, key_ids: list[str]) -> None:
        """Drop these records here and, through Redis, in every other process."""
        message = {"m": merchant_id, "k": list(key_ids)}
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
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    state = runtime()
    for merchant_id, key_ids in pending:
        state.invalidate(merchant_id, key_ids)


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


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


def close(app: Flask) -> None:
    """Stop the listener and dispose of the feature's own engines (tests)."""
    state = app.extensions.get(EXTENSION)
    if state is not None:
        state[1].stop.set()
        if isinstance(state[1].batcher, AuditWriterClient):
            state[1].batcher.close()
        for engine in state[1].engines:
            engine.dispose()
