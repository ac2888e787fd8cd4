"""Exact daily and monthly caps decided inside the worker, without a round trip (issue #14
item 3; R-E5; SAMA 004 §15 g: further transactions are blocked as soon as a limit is reached).

An allowed live verification carries one :class:`~api_keys.limits.Charge` per running total
(the key's daily limit, the merchant's daily and monthly caps). :class:`HostSpend` decides them
before the worker answers, all or nothing, from memory that every process of the host shares:

* **Host slots** (:mod:`app.dataplane.spend_table`, ``<instance>/spend.map``): per total
  (subject, period key, currency) the host's ``leased`` and ``spent``, under a per-slot lock.
  A charge that fits the host's unspent lease (``leased - spent``) is taken there: a few
  microseconds, no system call but the lock.
* **Database leases** (:mod:`app.dataplane.spend_leases`, table ``spend_lease``): when it does
  not fit, the host leases ``min(max(need, limit × lease_fraction), limit - leased)`` in one
  short transaction, ``need`` being what its unspent lease lacks. ``leased`` is the total of all
  hosts' leases and never passes the limit. If the grant cannot cover ``need``, the request is
  refused with the limit named (the words of ``app.audit.spend``).
* **Giving back**: :meth:`HostSpend.release_idle` returns the unspent lease of totals unused for
  ``idle_release_seconds``, so no budget stays stranded on one host; a charge whose limit was
  lowered gives its unspent lease back first and leases again at the new limit (§15 e, f:
  lower limits apply at once); :meth:`HostSpend.refund` takes back a charge whose answer could
  not be given.

What is guaranteed:

* **Never over**, on any number of hosts, threads and processes, with any amounts: a host
  spends only what it leased, and the leases of all hosts never pass the limit.
* **Exact on one host**, with any amounts: a charge is refused only when the host's unspent
  lease plus what the database has left is below the amount; with one host those two add up to
  ``limit - spent``, so it is refused exactly when ``spent + amount > limit`` (as
  :meth:`Charge.fits`).
* **Exact across hosts with uniform amounts** — e.g. 200 concurrent charges of 10 TRY against
  1,000 on two hosts allow exactly 100 — whenever each host that takes part receives at least
  ``limit / amount`` of them (or is refused once): the limit and every grant are multiples of
  the amount (``max(need, 100)`` and ``1000 - leased`` are), so an unspent lease is either 0 or
  covers the next charge. A refusal therefore means the host's unspent lease is 0 *and* the
  database has nothing left; from then on no lease grows. If another host still held an unspent
  lease at the end, it was never refused, so it allowed all its charges; receiving at least
  ``limit / amount`` of them, it spent the whole limit, contradicting its unspent lease. So all
  1,000 is spent: exactly 100 allowed.
* **With mixed amounts, or a host that sees fewer requests**, a host may hold up to one lease
  slice it cannot use while another is refused (e.g. 5 TRY left on host A, a 10 TRY charge on
  host B): never over, and :meth:`HostSpend.release_idle` returns the rest within
  ``idle_release_seconds`` for later requests.

Every crash window errs towards stranding budget, never towards double counting: a lease is
committed in the database before the slot shows it; a give-back clears the slot before the
database hears of it; a process killed mid-charge holds no lock (fcntl locks die with it) and
at worst leaves a charge counted that was never answered. The table never evicts a total whose
period may still be in force anywhere: when every slot holds one, charges are refused
(``available`` is False) rather than allowed uncounted.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api_keys.limits import Charge, period_key, plain_amount
from app.dataplane import spend_leases
from app.dataplane.spend_table import KEY_MAX, SpendTable, TableFull, tag_of

FILE_NAME = "spend.map"
SEPARATOR = "\x1f"
# A period's slot may be reused 14 hours after its date ends in UTC: by then the period is
# over on every calendar (local midnight falls at most 12 hours after UTC's), with an hour to
# spare for answers and refunds dated just before it ended.
_REUSE_AFTER = dt.timedelta(hours=14)
_TRIES = 3
_PERIODS = frozenset({"day", "month"})

log = logging.getLogger(__name__)


class SpendResult(NamedTuple):
    """What :meth:`HostSpend.charge` decided.

    ``charges``: per charge, the evidence to record — the charge as the event's details hold it
    (``charges_to_details``) with ``spent`` (this host's running total after the charge, or as
    it stood when refused) and ``leased`` (this host's slice of the limit). When refused,
    ``limit`` names the limit (``"merchant daily limit 1000 TRY"``) or why no total could be
    kept, and ``available`` is False in the latter case (a full table, the database
    unreachable): the request is refused either way.
    """

    allowed: bool
    charges: tuple[dict[str, str], ...] = ()
    limit: str | None = None
    available: bool = True

    @property
    def reason(self) -> str | None:
        """The deny reason: ``limit_exceeded`` when refused."""
        return None if self.allowed else "limit_exceeded"


def limit_words(charge: Charge) -> str:
    """The limit a refused charge names (as ``app.audit.spend`` words it)."""
    kind = charge.subject.split(":", 1)[0]
    period = "daily" if charge.period == "day" else "monthly"
    return f"{kind} {period} limit {plain_amount(charge.limit)} {charge.currency}"


def _ceil_units(amount: Decimal) -> int:
    """An amount in units of 1/10,000, rounded up (a charge never counts for less). Raises
    ``ValueError`` for a negative or not finite amount."""
    try:
        scaled = amount.scaleb(4)
        units = int(scaled)
    except (ValueError, OverflowError, ArithmeticError):
        raise ValueError(f"amount {amount} is not finite") from None
    if units < scaled:
        units += 1
    if units < 0:
        raise ValueError(f"amount {amount} is negative")
    return units


@functools.lru_cache(maxsize=4096)
def _floor_units(amount: Decimal) -> int:
    """A limit in units of 1/10,000, rounded down (a limit never allows more)."""
    return int(amount.scaleb(4).to_integral_value(ROUND_FLOOR))


def _plain(units: int) -> str:
    """Units of 1/10,000 as ``plain_amount`` writes the amount (``1000``, ``12.5``)."""
    if units < 0:
        return plain_amount(spend_leases.to_decimal(units)) or ""
    whole, part = divmod(units, 10000)
    if not part:
        return str(whole)
    return f"{whole}.{part:04d}".rstrip("0")


_plain_leased = functools.lru_cache(maxsize=4096)(_plain)  # a host's lease changes seldom


@functools.lru_cache(maxsize=8192)
def _slot_key(subject: str, key: str, currency: str) -> tuple[bytes, int, int]:
    """(slot key, tag, reusable from as a UNIX time) of one running total."""
    text = SEPARATOR.join((subject, key, currency)).encode()
    if len(text) > KEY_MAX:
        raise ValueError(f"running total {subject} {key} {currency} does not fit a slot")
    if len(key) == 10:
        end = dt.datetime.strptime(key, "%Y-%m-%d").replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    else:
        start = dt.datetime.strptime(key, "%Y-%m").replace(tzinfo=dt.UTC)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    return text, tag_of(text), int((end + _REUSE_AFTER).timestamp())


class _Known:
    """Where this process found a running total (confirmed under the slot's lock before use),
    with what a charge against it needs computed once."""

    __slots__ = ("total", "key", "tag", "reusable", "slot", "limits")

    def __init__(self, total: spend_leases.Total, slot: int) -> None:
        self.total = total
        self.key, self.tag, self.reusable = _slot_key(*total)
        self.slot = slot
        self.limits: tuple[Decimal | None, int, str] = (None, 0, "")

    def limit_of(self, limit: Decimal) -> tuple[Decimal | None, int, str]:
        """(``limit``, in units rounded down, as the details write it), remembered for the
        next charge (one attribute, so that threads never see half of a change)."""
        limits = self.limits
        if limits[0] != limit:
            limits = self.limits = (limit, _floor_units(limit), format(limit, "f"))
        return limits


@dataclass(slots=True)
class _Line:
    """One charge being decided on the general path: its total, slot and amounts in units of
    1/10,000."""

    charge: Charge
    total: spend_leases.Total
    slot: int
    amount: int
    limit: int


def _evidence(charge: Charge, spent: int, leased: int, limit: str | None = None
              ) -> dict[str, str]:
    """The charge as the event's details hold it (``charges_to_details``), with this host's
    running total (``spent``) and slice of the limit (``leased``)."""
    entry = {"subject": charge.subject, "period": charge.period, "currency": charge.currency,
             "amount": format(charge.amount, "f"), "limit": limit or format(charge.limit, "f")}
    if charge.key:
        entry["key"] = charge.key
    entry["spent"] = _plain(spent)
    entry["leased"] = _plain_leased(leased)
    return entry


class HostSpend:
    """The running totals of this host in ``path`` (``<instance>/spend.map``), leasing from
    the database behind ``engine``. One per process (create it after forking); thread-safe."""

    def __init__(self, path: str | os.PathLike[str], engine: Engine, *, slots: int = 131072,
                 lease_fraction: Decimal = Decimal("0.1"),
                 idle_release_seconds: float = 5) -> None:
        if not Decimal(0) < lease_fraction <= 1:
            raise ValueError("lease_fraction must be above 0 and at most 1")
        self.table = SpendTable(path, slots)
        self.engine = engine
        self.lease_fraction = lease_fraction
        self.idle_release_seconds = idle_release_seconds
        self._touched: set[int] = set()  # slots this process used (release_idle's candidates)
        self._known: dict[spend_leases.Total, _Known] = {}  # where this process found totals

    def close(self) -> None:
        """Unmap the table (leases stay with the host's file)."""
        self.table.close()

    # -- charging --------------------------------------------------------------------------

    def _find(self, charge: Charge, at: dt.datetime, claim: bool) -> _Known | None:
        """Where ``charge``'s total is (claiming a slot if ``claim``; else None if it has none).
        Raises :class:`TableFull`, or ``ValueError`` for a total that cannot have a slot."""
        total = (charge.subject, charge.key or period_key(charge.period, at), charge.currency)
        known = self._known.get(total)
        if known is None:
            key, tag, reusable = _slot_key(*total)
            slot = self.table.find(key, tag)
            if slot is None and claim:
                slot = self.table.claim(key, tag, reusable, at.timestamp())
            if slot is None:
                return None
            if len(self._known) >= 65536:
                self._known.clear()
            known = self._known[total] = _Known(total, slot)
        return known

    def _held(self, found: Sequence[_Known]) -> bool:
        """Whether each slot still holds its total (else forget where it was)."""
        held = True
        for known in found:
            if not self.table.holds(known.slot, known.key, known.tag):
                self._known.pop(known.total, None)
                held = False
        return held

    def charge(self, charges: Sequence[Charge], at: dt.datetime) -> SpendResult:
        """Take every charge from its running total, or none of them (R-E5).

        ``at`` is the decision's time: it dates charges without a period key (UTC, as
        ``app.audit.spend``) and marks the totals as used. Refused when a total has no room
        for its amount, or when no total can be kept (fail safe).
        """
        if not charges:
            return SpendResult(True)
        amounts = []
        try:
            for charge in charges:
                if charge.period not in _PERIODS:
                    raise ValueError(charge.period)
                amounts.append(_ceil_units(charge.amount))
        except ValueError:
            return SpendResult(False, (), "malformed limit charges")  # as app.audit.spend
        for _ in range(_TRIES):
            try:
                found = [self._find(charge, at, claim=True) for charge in charges]
            except (TableFull, ValueError) as exc:
                log.error("spend: running totals cannot be kept: %s", exc)
                return SpendResult(False, (), f"running totals unavailable: {exc}", False)
            if len(found) == 1:
                order = [found[0].slot]
            else:
                order = sorted({known.slot for known in found})
            self.table.acquire(order)
            try:
                if not self._held(found):
                    continue
                taken = (self._take(charges, amounts, found, at)
                         if len(order) == len(found) else None)
                if taken is None:
                    return self._decide([
                        _Line(charge, known.total, known.slot, amount,
                              known.limit_of(charge.limit)[1])
                        for charge, amount, known in zip(charges, amounts, found, strict=True)
                    ], at)
            finally:
                self.table.release(order)
            return SpendResult(True, tuple([
                _evidence(charge, spent, leased, limit)
                for charge, (leased, spent, limit) in zip(charges, taken, strict=True)]))
        return SpendResult(False, (), "running totals unavailable: slots kept moving", False)

    def _take(self, charges: Sequence[Charge], amounts: Sequence[int],
              found: Sequence[_Known], at: dt.datetime) -> list[tuple[int, int, str]] | None:
        """The lease-hit path, slots held and distinct: if every charge fits its host's
        unspent lease at an unchanged or raised limit, take them all and return (leased,
        spent after, limit as written) per charge; else None (nothing written: the general
        path decides)."""
        table, values = self.table, []
        for charge, amount, known in zip(charges, amounts, found, strict=True):
            _, limit, text = known.limit_of(charge.limit)
            leased, spent, held_limit, _, reusable = table.read(known.slot)
            if limit < held_limit or amount > leased - spent:
                return None
            values.append((known.slot, leased, spent + amount, limit, reusable, text))
        used, touched, taken = at.timestamp(), self._touched, []
        for slot, leased, spent, limit, reusable, text in values:
            table.write(slot, leased, spent, limit, used, reusable)
            touched.add(slot)
            taken.append((leased, spent, text))
        return taken

    def _decide(self, lines: Sequence[_Line], at: dt.datetime) -> SpendResult:
        """The general path, slots held: leases, lowered limits, a total charged twice.
        ``state`` mirrors the slots as stored (leases are written at once); ``taken`` is what
        this request takes from each, written at the end only if every line fits."""
        state: dict[int, list] = {}
        taken: dict[int, int] = {}
        after = []
        for line in lines:
            values = state.get(line.slot)
            if values is None:
                values = state[line.slot] = list(self.table.read(line.slot))
                taken[line.slot] = 0
            pending = taken[line.slot]
            if values[2] and line.limit < values[2]:
                self._give_back(line, values, pending, at)  # lowered: lease at the new limit
            unspent = values[0] - values[1] - pending
            if line.amount > unspent:
                refused = self._lease(line, values, line.amount - unspent, at)
                if refused is not None:
                    for rest in lines:  # the lines after the refused one, as they stand
                        state.setdefault(rest.slot, list(self.table.read(rest.slot)))
                    return self._refusal(lines, state, refused)
            values[2] = line.limit
            taken[line.slot] = pending + line.amount
            after.append((line.charge, values[1] + pending + line.amount, values[0]))
        used = at.timestamp()
        for slot, values in state.items():
            values[1] += taken[slot]
            values[3] = used
            self.table.write(slot, *values)
            self._touched.add(slot)
        return SpendResult(True, tuple(_evidence(*entry) for entry in after))

    def _lease(self, line: _Line, values: list, need: int, at: dt.datetime
               ) -> SpendResult | None:
        """Lease at least ``need`` more for ``line`` into ``values`` (written to the slot at
        once); a refusal (the limit, or no database) if it cannot."""
        chunk = int(line.limit * self.lease_fraction)
        try:
            grant = spend_leases.lease(self.engine, line.total, need, chunk, line.limit, at)
        except (sa.exc.SQLAlchemyError, RuntimeError) as exc:
            log.error("spend: no lease for %s: %s", line.total, exc)
            return SpendResult(False, (), "running totals unavailable: the database did not "
                                          "grant a lease", False)
        values[0] += grant.granted + grant.seeded
        values[1] += grant.seeded
        self.table.write(line.slot, *values)
        self._touched.add(line.slot)
        if grant.granted < need:
            return SpendResult(False, (), limit_words(line.charge))
        return None

    @staticmethod
    def _refusal(lines: Sequence[_Line], state: dict[int, list], refused: SpendResult
                 ) -> SpendResult:
        evidence = tuple(_evidence(line.charge, state[line.slot][1], state[line.slot][0])
                         for line in lines)
        return SpendResult(False, evidence, refused.limit, refused.available)

    # -- giving back -----------------------------------------------------------------------

    def _give_back(self, line: _Line, values: list, pending: int, at: dt.datetime) -> None:
        """Return the unspent lease in ``values`` (less ``pending``, which this request is
        taking): cleared in the slot first, then in the database (a crash in between strands
        it, never counts it twice)."""
        unspent = values[0] - values[1] - pending
        if unspent <= 0:
            return
        values[0] -= unspent
        self.table.write(line.slot, *values)
        try:
            spend_leases.give_back(self.engine, line.total, unspent, at)
        except sa.exc.SQLAlchemyError as exc:
            log.error("spend: %s units of %s stranded: %s", unspent, line.total, exc)

    def refund(self, charges: Sequence[Charge], at: dt.datetime) -> None:
        """Take back charges that were allowed but could not be answered (the journal write
        failed): their amounts return to this host's unspent lease."""
        for _ in range(_TRIES):
            pairs = [(charge, known) for charge in charges
                     if (known := self._find(charge, at, claim=False)) is not None]
            with self.table.locked([known.slot for _, known in pairs]):
                if not self._held([known for _, known in pairs]):
                    continue
                for charge, known in pairs:
                    values = list(self.table.read(known.slot))
                    values[1] = max(0, values[1] - _ceil_units(charge.amount))
                    self.table.write(known.slot, *values)
                return
        log.error("spend: refund of %s at %s not applied: slots kept moving", charges, at)

    def release_idle(self, now: dt.datetime, everything: bool = False) -> int:
        """Give back the unspent lease of every total unused for ``idle_release_seconds``;
        the number of totals released. Looks at the totals this process used, or at the whole
        table with ``everything`` (at start, for what a dead process left)."""
        cutoff = now.timestamp() - self.idle_release_seconds
        released = 0
        for slot in list(self.table.used() if everything else set(self._touched)):
            leased, spent, _, last_used, reusable = self.table.read(slot)
            if reusable <= now.timestamp():
                self._touched.discard(slot)
            if last_used > cutoff or leased <= spent:
                continue
            key = self.table.key(slot)
            with self.table.locked([slot]):
                if self.table.key(slot) != key:
                    continue
                values = list(self.table.read(slot))
                if values[3] > cutoff or values[0] <= values[1]:
                    continue
                unspent, values[0] = values[0] - values[1], values[1]
                self.table.write(slot, *values)
            self._touched.discard(slot)
            total = tuple(key.decode().split(SEPARATOR))
            try:
                spend_leases.give_back(self.engine, total, unspent, now)
                released += 1
            except sa.exc.SQLAlchemyError as exc:
                log.error("spend: %s units of %s stranded: %s", unspent, total, exc)
        return released

    def host_totals(self, charge: Charge, at: dt.datetime) -> tuple[Decimal, Decimal] | None:
        """(leased, spent) of this host for ``charge``'s total, or None (reports, tests)."""
        key, tag, _ = _slot_key(charge.subject, charge.key or period_key(charge.period, at),
                                charge.currency)
        slot = self.table.find(key, tag)
        if slot is None:
            return None
        leased, spent, *_ = self.table.read(slot)
        return spend_leases.to_decimal(leased), spend_leases.to_decimal(spent)


def host_spend(instance_path: str | os.PathLike[str], engine: Engine, **options: object
               ) -> HostSpend:
    """The host's running totals in the instance folder (``<instance>/spend.map``)."""
    return HostSpend(os.path.join(instance_path, FILE_NAME), engine, **options)  # type: ignore[arg-type]
