"""The flusher: pending sync items into Pinterest as fast as each token's budget allows.

One loop (`flush_run`) claims due items group by group, (step, operation) in
turn so a million-customer backlog in one canvas never starves a trickle in
another, cuts them into requests of at most 1,900 records, and hands each to a
pool of sender threads. A claim takes as many requests as senders are free (up
to CLAIM_REQUESTS), and in its one transaction leases the items, opens the
requests' ledger rows and reserves their write slots (audiences/budget.py,
shared by every worker and machine): on SQLite every transaction is a turn at
the one write lock the canvas engine also wants, so a turn per claim, not three
per request. A sender sleeps until its slot, sends, and settles the outcome
(audiences/claims.py) in one transaction:

- 2xx: synced, counted once;
- 400: split in halves until the bad record stands alone, which is errored;
- 401 (after partners' one refresh) or an unusable connection: pending again at
  once; the connection is invalid, so nothing more is tried until a reconnect;
- 404: the audience or its list is gone: marked missing, no more sends to it;
- 429: the budget moves past x-ratelimit-reset; a 429 that says spam blocks
  the connection for an hour and says so on the canvas page;
- 403, 5xx, timeouts, connection errors, answers we cannot read: back off.

Erasure's REMOVEs (audiences/erasure.py) go to the customer list once it exists,
even when the audience itself was deleted on Pinterest.

A drafted audience is created on Pinterest with its first batch: the customer
list with those records, then the audience on it. A lease on the audience row
makes one worker do it; one that died half way is recovered by name.
"""

from __future__ import annotations

import copy
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from audiences import claims, explain, gateway
from audiences.budget import (
    SPACING,
    WRITES_PER_SECOND,
    budget_pad,
    budget_push_back,
    budget_reserve,
    budget_reserve_many,
)
from audiences.claims import Claim, Request
from audiences.incidents import incidents_refresh
from audiences.models import (
    AudienceStatus,
    BatchOutcome,
    ListType,
    PinterestAudience,
    SyncItem,
    WriteBudget,
)
from partners.exceptions import ConnectionUnusable
from partners.pinterest import (
    BadRequest,
    NotFound,
    PinterestError,
    RateLimited,
    SpamRateLimited,
    Unauthorized,
)
from partners.selectors import connection_problem

logger = logging.getLogger(__name__)

# A live audience is read again before sending to it when older than this.
AUDIENCE_CHECK_EVERY = timedelta(minutes=5)
# A spam block lifts by itself after this long (and at once on reconnect).
SPAM_COOL_OFF = timedelta(hours=1)

SWEEP_EVERY = 2.0
IDLE_POLL = 0.5

Sleep = Callable[[float], None]
# While the loop runs, other threads hand the interpreter over every millisecond (not
# every 5 ms): a sender waking for its slot is then late by ~1 ms, not ~20 ms, which
# the budget's 2 % margin must absorb (measured in bench_sync).
SWITCH_INTERVAL = 0.001
# No write leaves within this long of the seventh write before it, in this process: the
# budget's seven spacings (audiences/budget.py). A sender the OS woke late delays the
# ones after it instead of arriving among them.
DEPARTURE_WINDOW = 7 * SPACING
# Requests per claim at most: few transactions, yet a first request that leaves soon
# (a claim of 12 requests, 22,800 items, took 0.3 s before anything was sent).
CLAIM_REQUESTS = 4
# A slot reserved with the claim that passed longer ago than this is not used: a new one is.
LATE_SLOT = 0.05
# Left unused between a loop's last reserved slot and its successor's first (another
# process, which does not know when this one's last requests left): 0.05 s per hand-over.
# Without it, both launches measured had a 429 at each hand-over (a second lost each).
HAND_OVER_PAD = 0.05


@dataclass
class _Departure:
    """When one request left: planned when it takes its place, the real time once it goes."""

    at: float


@dataclass
class FlushStats:
    """What one run did (the task's result, and the benchmark's)."""

    requests: int = 0
    synced: int = 0
    retried: int = 0
    rejected: int = 0
    errored_late: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


def _usable_connections(audiences: list[PinterestAudience]) -> dict[int, bool]:
    """Whether each audience's connection may send now (valid, not spam-blocked)."""
    connection_ids = {audience.ad_account.connection_id for audience in audiences}
    blocked_since = timezone.now() - SPAM_COOL_OFF
    blocked = set(
        WriteBudget.objects.filter(
            connection_id__in=connection_ids, blocked_at__gt=blocked_since
        ).values_list("connection_id", flat=True)
    )
    usable = {}
    for audience in audiences:
        connection = audience.ad_account.connection
        usable[connection.pk] = (
            connection.pk not in blocked
            and connection_problem(connection=connection) is None
            and audience.ad_account.disconnected_at is None
        )
    return usable


class Flusher:
    """Claims, sends and settles; `flush_run` loops it, `flush_until_idle` is for tests."""

    def __init__(
        self,
        *,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        window: timedelta | None = None,
    ):
        # Tests pass a sleep that moves time-machine's clock, and that clock (time.time).
        self.sleep, self.clock = sleep, clock
        # Per token, this process's last 7 departures.
        self._departures: dict[int, deque[_Departure]] = {}
        self._departures_lock = threading.Lock()
        # Connections this flusher reserved slots of (main thread only): padded at hand-over.
        self._reserved_for: set[int] = set()
        self.window = (
            window if window is not None else timedelta(seconds=settings.SYNC_BATCH_WINDOW_SECONDS)
        )
        self.stats = FlushStats()
        self._turn = 0

    # Claiming

    def claim_round(self, now: datetime, requests: int = 1) -> list[Claim]:
        """One claim per due group whose connection may send, starting where the last round left off.

        Up to `requests` requests in all: the first groups of the round may take
        several each, every group at least one.
        """
        groups = claims.due_groups(now=now)
        if not groups:
            return []
        usable = _usable_connections([g.audience for g in groups])
        groups = [g for g in groups if usable[g.audience.ad_account.connection_id]]
        if not groups:
            return []
        self._turn = self._turn % len(groups)
        ordered = groups[self._turn :] + groups[: self._turn]
        self._turn += 1
        found = []
        for group in ordered:
            audience = group.audience
            being_created = audience.creating_until is not None and audience.creating_until > now
            if not audience.pinterest_audience_id and being_created:
                continue  # another worker is creating it on Pinterest
            with transaction.atomic():
                claimed = claims.claim(
                    group=group, now=now, window=self.window, requests=max(1, requests)
                )
                if claimed is not None:
                    self._reserve(claimed)
            if claimed is not None:
                found.append(claimed)
                requests -= len(claimed.requests)
        return found

    # Sending one claim

    def send_claim(self, claim: Claim) -> None:
        """Send every request of a claim, one after another, and settle each answer."""
        if self.prepare(claim):
            for request in list(claim.requests):
                self._send_guarded(claim, request)

    def prepare(self, claim: Claim) -> bool:
        """Whether the claim's requests may go (a draft is created here); False: released."""
        try:
            return self._ready(claim)
        except Exception:
            self._release_after_bug(claim, claim.requests)
            return False

    def _send_guarded(self, claim: Claim, request: Request) -> None:
        try:
            self._send(claim, request)
        except Exception:
            self._release_after_bug(claim, [request])

    def _release_after_bug(self, claim: Claim, requests: list[Request]) -> None:
        # Never lose the items to a bug: release them for a later try.
        logger.exception("Sync of audience %s failed; its items are released", claim.audience.pk)
        for request in requests:
            self._release(claim, request, explain.UNEXPECTED, claims.backoff(request.attempt))

    def _send_in_thread(self, claim: Claim, request: Request) -> None:
        # A sender thread has its own database connection: closed after each request, so
        # a pool's threads never hold one past the loop.
        try:
            self._send_guarded(claim, request)
        finally:
            db_connection.close()

    def _connection(self, claim: Claim):
        # A copy per call: senders of one claim run in parallel, and pinterest_call
        # refreshes (and may update) the instance it is given.
        return copy.copy(claim.audience.ad_account.connection)

    def _reserve(self, claim: Claim) -> None:
        """Reserve the write slots of a claim's requests, in the claim's transaction."""
        waits = budget_reserve_many(connection_id=claim.connection_id, count=len(claim.requests))
        self._reserved_for.add(claim.connection_id)
        now = self.clock()
        for request, wait_s in zip(claim.requests, waits, strict=True):
            request.slot_at = now + wait_s

    def _slot_waiter(self, claim: Claim, request: Request | None = None) -> Callable[[], None]:
        """Reserve the connection's next write slot now; the callable sleeps until it.

        The client calls it once the request is built, right before it leaves. It also
        keeps this process's last 7 departures per token: a sender the OS woke late (a
        busy machine can be 50 ms late) would otherwise arrive close to the next ones
        and make 8 in a second; so no departure is allowed within DEPARTURE_WINDOW of
        the seventh before it. The shared budget spaces the processes; this, each process.
        """
        at = request.slot_at if request is not None else None
        if at is None or at < self.clock() - LATE_SLOT:
            # None reserved, or this one passed while the request waited (a draft being
            # created, a busy machine): leaving now could crowd another worker's slots.
            at = self.clock() + budget_reserve(connection_id=claim.connection_id)
        if request is not None:
            request.slot_at = None  # used
        departures = self._departures.setdefault(
            claim.connection_id, deque(maxlen=WRITES_PER_SECOND)
        )

        def wait_for_slot() -> None:
            self.sleep(max(0.0, at - self.clock()))
            with self._departures_lock:
                now = self.clock()
                leave = now
                if len(departures) == departures.maxlen:
                    leave = max(now, departures[0].at + DEPARTURE_WINDOW)
                departure = _Departure(leave)
                departures.append(departure)
            if leave > now:
                self.sleep(leave - now)
            # A sleep may end late, a thread may wait for the interpreter (measured: up to
            # 80 ms on a busy machine): the seventh request after this one keeps its
            # distance from when this one really leaves, not from when it meant to.
            departure.at = max(leave, self.clock())
            if request is not None:
                request.leaves()

        return wait_for_slot

    def _ready(self, claim: Claim) -> bool:
        """Make sure the audience can take records now: created if a draft, known to exist if live."""
        audience = claim.audience
        audience.refresh_from_db()
        if claim.erasure:
            # Erasure's REMOVEs need the customer list only (claims waited for it): it is
            # where the hashes are, and it stays writable after its audience is deleted.
            return True
        if audience.missing_since is not None:
            self._release_all(claim, explain.AUDIENCE_NOT_FOUND, timedelta(minutes=5))
            return False
        if not audience.pinterest_audience_id:
            return self._create_on_pinterest(claim)
        checked = audience.checked_at
        if checked is None or checked < timezone.now() - AUDIENCE_CHECK_EVERY:
            try:
                gateway.audience_read(connection=self._connection(claim), audience=audience)
            except NotFound:
                claims.audience_mark_missing(audience=audience, now=timezone.now())
                self._release_all(
                    claim,
                    explain.AUDIENCE_NOT_FOUND,
                    timedelta(minutes=5),
                )
                return False
            except (PinterestError, ConnectionUnusable) as error:
                self._fail_all(claim, error)
                return False
            PinterestAudience.objects.filter(pk=audience.pk).update(checked_at=timezone.now())
        return True

    def _create_on_pinterest(self, claim: Claim) -> bool:
        """First batch of a draft: its customer list with the first records, then the audience.

        Under a lease on the audience row, so one worker does it; a worker that finds
        the lease of a dead one looks for what that one created (by name) first.
        """
        audience = claim.audience
        now = timezone.now()
        taken_over = audience.creating_until is not None
        free = Q(creating_until__isnull=True) | Q(creating_until__lt=now)
        won = PinterestAudience.objects.filter(
            free, pk=audience.pk, pinterest_audience_id=""
        ).update(creating_until=now + claims.lease())  # as long as its items stay claimed
        if not won:
            self._release_all(
                claim, "Waiting for the audience to be created.", timedelta(seconds=2)
            )
            return False
        connection = self._connection(claim)
        try:
            if not audience.customer_list_id:
                found = (
                    gateway.customer_list_find(connection=connection, audience=audience)
                    if taken_over
                    else None
                )
                list_id = found.id if found is not None else None
                if list_id is not None:
                    # Found under the name: a dead worker created it. Kept unless a list is stored.
                    PinterestAudience.objects.filter(pk=audience.pk, customer_list_id="").update(
                        customer_list_id=list_id
                    )
                    audience.refresh_from_db()
                while list_id is None and claim.requests:
                    list_id = self._create_list(claim, claim.requests.pop(0))
                if list_id is None:  # Pinterest refused every record: no list yet
                    PinterestAudience.objects.filter(pk=audience.pk).update(creating_until=None)
                    return False
            created = (
                gateway.audience_find(connection=connection, audience=audience)
                if taken_over
                else None
            )
            if created is None:
                created = gateway.audience_create(
                    connection=connection, audience=audience, before_send=self._slot_waiter(claim)
                )
        except (PinterestError, ConnectionUnusable) as error:
            PinterestAudience.objects.filter(pk=audience.pk).update(creating_until=None)
            self._fail_all(claim, error)
            return False
        PinterestAudience.objects.filter(pk=audience.pk).update(
            pinterest_audience_id=created.id,
            status=AudienceStatus.LIVE,
            creating_until=None,
            checked_at=timezone.now(),
        )
        audience.pinterest_audience_id, audience.status = created.id, AudienceStatus.LIVE
        return True

    def _create_list(self, claim: Claim, request: Request) -> str | None:
        """Create the draft's customer list with this request's records; its id, None if all refused.

        A record Pinterest refuses (400) must not keep the list from existing: the
        request is halved and the list created with the first part that goes through;
        the other parts stay in `claim.requests`, sent to the list like any batch.
        Any other error settles this request and is raised for the caller to settle the rest.
        """
        list_type = self._list_type(request)
        batch = claims.batch_open(
            claim_=claim, request=request, now=timezone.now(), created_list=True
        )
        try:
            found = gateway.customer_list_create(
                connection=self._connection(claim),
                audience=claim.audience,
                list_type=list_type,
                records=request.records,
                before_send=self._slot_waiter(claim, request),
            )
        except BadRequest as error:
            if len(request.item_ids) == 1:
                self._outcome(claim, request, batch, error)  # this record is errored
                return None
            claims.batch_close(batch, BatchOutcome.SPLIT, timezone.now(), error=error)
            first, second = self._halves(request)
            claim.requests.insert(0, second)
            kept = self._create_list(claim, first)
            return kept if kept is not None else self._create_list(claim, claim.requests.pop(0))
        except (PinterestError, ConnectionUnusable) as error:
            self._outcome(claim, request, batch, error)
            raise
        # Stored only if no list is yet: a worker that took over our lapsed lease may have
        # created one first. Then ours is an orphan and its records never reached the
        # audience: they are not synced, but sent again, at once, to the list kept.
        stored = PinterestAudience.objects.filter(pk=claim.audience.pk, customer_list_id="").update(
            customer_list_id=found.id, list_type=list_type
        )
        if not stored:
            claim.audience.refresh_from_db()
            claims.settle_retry(
                claim_=claim,
                request=request,
                batch=batch,
                now=timezone.now(),
                error=explain.SECOND_LIST,
                wait=timedelta(0),
            )
            return claim.audience.customer_list_id
        claim.audience.customer_list_id = found.id
        self._settled_synced(claim, request, batch, found.request_id)
        return found.id

    def _list_type(self, request: Request) -> str:
        """EMAIL when the step matches on email, else MAID (partners/pinterest/README.md)."""
        with_email = (
            SyncItem.objects.filter(pk__in=request.item_ids[:1]).exclude(email_hash="").exists()
        )
        return ListType.EMAIL if with_email else ListType.MAID

    def _send(self, claim: Claim, request: Request) -> None:
        batch = claims.batch_open(claim_=claim, request=request, now=timezone.now())
        try:
            answer = gateway.records_send(
                connection=self._connection(claim),
                audience=claim.audience,
                operation=claim.operation,
                records=request.records,
                before_send=self._slot_waiter(claim, request),
            )
        except (PinterestError, ConnectionUnusable) as error:
            self._outcome(claim, request, batch, error)
            return
        self._settled_synced(claim, request, batch, answer.request_id)

    def _settled_synced(self, claim, request, batch, request_id) -> None:
        synced = claims.settle_synced(
            claim_=claim, request=request, batch=batch, now=timezone.now(), request_id=request_id
        )
        self.stats.add(requests=1, synced=synced)

    # Outcomes other than 2xx

    def _outcome(self, claim: Claim, request: Request, batch, error: Exception) -> None:
        now = timezone.now()
        self.stats.add(requests=1)
        # A 400 (or a record our client refused before sending): isolate the culprit.
        if isinstance(error, BadRequest):
            if len(request.item_ids) > 1:
                self._split(claim, request, batch, error)
            else:
                self.stats.add(
                    rejected=claims.settle_rejected(
                        claim_=claim, request=request, batch=batch, now=now, error=error
                    )
                )
            return
        wait = claims.backoff(request.attempt)
        if isinstance(error, SpamRateLimited):
            WriteBudget.objects.update_or_create(
                connection_id=claim.connection_id,
                defaults={"blocked_at": now, "blocked_message": error.message[:500]},
            )
        elif isinstance(error, RateLimited):
            reset = error.retry_after_seconds or 1.0
            budget_push_back(connection_id=claim.connection_id, seconds=reset)
            wait = timedelta(seconds=reset)
        elif isinstance(error, Unauthorized | ConnectionUnusable):
            # The connection is invalid now (partners marked it): nothing is tried until
            # a reconnect, and then at once.
            wait = timedelta(0)
        elif isinstance(error, NotFound):
            claims.audience_mark_missing(audience=claim.audience, now=now)
        self.stats.add(
            retried=claims.settle_retry(
                claim_=claim, request=request, batch=batch, now=now, error=error, wait=wait
            )
        )

    def _split(self, claim: Claim, request: Request, batch, error: Exception) -> None:
        """A 400 on several records: try each half, down to the record Pinterest refuses."""
        # The items stay leased to this claim; each half is a request (and a ledger row) of its own.
        claims.batch_close(batch, BatchOutcome.SPLIT, timezone.now(), error=error)
        for half in self._halves(request):
            self._send(claim, half)

    def _halves(self, request: Request) -> tuple[Request, Request]:
        middle = len(request.item_ids) // 2
        halves = []
        for part in (slice(0, middle), slice(middle, None)):
            ids = request.item_ids[part]
            rows = dict(
                (pk, [h for h in hashes if h])
                for pk, *hashes in SyncItem.objects.filter(pk__in=ids).values_list(
                    "pk", "email_hash", "idfa_hash", "gaid_hash"
                )
            )
            halves.append(
                Request(
                    item_ids=ids,
                    step_ids=request.step_ids[part],
                    records=[h for pk in ids for h in rows.get(pk, [])],
                    attempt=request.attempt,
                )
            )
        return halves[0], halves[1]

    def _release(self, claim: Claim, request: Request, reason: str, wait: timedelta) -> None:
        claims.settle_retry(
            claim_=claim, request=request, batch=None, now=timezone.now(), error=reason, wait=wait
        )

    def _release_all(self, claim: Claim, reason: str, wait: timedelta) -> None:
        for request in claim.requests:
            self._release(claim, request, reason, wait)

    def _fail_all(self, claim: Claim, error: Exception) -> None:
        for request in claim.requests:
            self._outcome(claim, request, None, error)

    # Loops

    def _pad_budgets(self) -> None:
        """Leave HAND_OVER_PAD unused after this loop's last slots, for its successor."""
        for connection_id in sorted(self._reserved_for):
            try:
                budget_pad(connection_id=connection_id, seconds=HAND_OVER_PAD)
            except Exception:
                # Handing over matters more: without a successor nothing is sent until
                # the watchdog's next minute; a missing pad risks one 429.
                logger.exception("Padding the write budget of connection %s failed", connection_id)

    def sweep(self, now: datetime) -> None:
        _, errored = claims.sweep(now=now)
        self.stats.add(errored_late=errored)
        # What went wrong (or right again) becomes, or stops being, a notification.
        incidents_refresh()

    def flush_until_idle(self, *, max_rounds: int = 1_000) -> FlushStats:
        """Send everything due now, one claim after another in this thread (tests, commands)."""
        for _ in range(max_rounds):
            now = timezone.now()
            self.sweep(now)
            claimed = self.claim_round(now)
            if not claimed:
                break
            for claim in claimed:
                self.send_claim(claim)
        return self.stats

    def flush_run(
        self,
        *,
        seconds: float,
        stop: Callable[[], bool] = lambda: False,
        heartbeat: Callable[[], None] = lambda: None,
        hand_over: Callable[[], None] = lambda: None,
    ) -> FlushStats:
        """Claim and send for `seconds`, several requests in flight, then wait for them.

        `hand_over` is called once the time is up, before the wait: a successor can
        claim while this loop's last requests (up to a second of slots, then Pinterest's
        answer) finish, instead of the pipeline emptying at every hand-over.
        """
        deadline = time.monotonic() + seconds
        senders = settings.SYNC_SENDERS
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        last_sweep = 0.0
        in_flight: set[Future] = set()
        with ThreadPoolExecutor(senders, thread_name_prefix="pinsync-sender") as pool:
            while time.monotonic() < deadline and not stop():
                if time.monotonic() - last_sweep > SWEEP_EVERY:
                    self.sweep(timezone.now())
                    heartbeat()  # this loop is alive: its slot stays taken
                    last_sweep = time.monotonic()
                if len(in_flight) < senders:
                    # As many requests as senders are free, in few claims (few transactions).
                    claimed = self.claim_round(
                        timezone.now(), requests=min(senders - len(in_flight), CLAIM_REQUESTS)
                    )
                    for claim in claimed:
                        # Here, not in a sender: a draft is created once, before its requests.
                        if self.prepare(claim):
                            for request in claim.requests:
                                in_flight.add(pool.submit(self._send_in_thread, claim, request))
                    if claimed:
                        continue
                if in_flight:
                    done, in_flight = wait(
                        in_flight, timeout=IDLE_POLL, return_when=FIRST_COMPLETED
                    )
                else:
                    time.sleep(IDLE_POLL)
            if not stop():
                self._pad_budgets()
                hand_over()
            wait(in_flight)
        sys.setswitchinterval(switch_interval)
        connections.close_all()
        return self.stats
