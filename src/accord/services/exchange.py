"""Federation over HTTP, the node's side: answer a posted batch, and deliver every peer's outbox.

:meth:`Exchange.receive` takes the body of ``POST /federation/v1/envelopes`` (already
read within the size limit), refuses a body that is not a batch with one audit entry
(``RejectedError``, opaque), hands the envelopes to ``Inbound.accept_many`` ten at a
time (so a FLASH posted beside a long batch waits for a short transaction) and answers
with the receipts, the opaque refusal in place of each refused one.
:meth:`Exchange.refuse_oversized` audits a body over the limit. :meth:`Exchange.deliver`
runs ``Outbox.deliver`` over HTTP for each pinned peer with a URL, holding a per-peer
lease (``Database.lease``) so that several API workers never send one outbox at once.
The route, the CLI and the background loop call these; the wire format is in
``accord.federation.peer_client``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from accord.audit.entry import EntryKind
from accord.crypto import NodePublicKeys
from accord.domain.record import Precedence
from accord.domain.world import World
from accord.errors import UnknownReferenceError
from accord.federation.delivery import Backoff
from accord.federation.messages import RejectedError
from accord.federation.peer_client import FEDERATION_PATH, HttpTransport, decode_batch, encode_results
from accord.services import audit
from accord.services._database import NodeService
from accord.services._flash_watch import (
    FLASH_RANKS,
    LOOK_SECONDS,
    OTHER_RANKS,
    FlashSignal,
    FlashWatch,
    signal_flash,
)
from accord.services._turns import urgent, yield_to_urgent
from accord.services.inbound import Inbound
from accord.services.node import UnlockedNode, utc_now
from accord.services.outbox import Delivery, Outbox
from accord.services.peers import Peers
from accord.storage.sql import SqlFederationStore

__all__ = ["FEDERATION_PATH", "DeliveryLoop", "DeliveryOptions", "Exchange", "Lane"]

Lane = Literal["all", "flash", "others"]
"""Which precedences a delivery run sends: FLASH only, all but FLASH, or all."""
_ALL: Final = range(4)

_MAX_REASON = 200
_STORE_CHUNK = 10
"""Messages of a posted batch accepted per ``accept_many`` (so per stored transaction): a
FLASH posted beside a long ROUTINE batch waits for the writer lock of a few, not of the batch."""
_log = logging.getLogger("accord.delivery")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOptions:
    """How this node reaches its peers: TLS trust, timeout, retry schedule, run size."""

    ca_file: Path | None = None
    timeout: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    batch_size: int = 50
    limit: int = 200  # items per peer per run: a FLASH queued meanwhile waits one run at most

    @classmethod
    def of(cls, *, ca_file: Path | None, timeout: float, retry_base_seconds: float) -> DeliveryOptions:
        """Options from a node's settings (``retry_base_seconds``: the first retry wait)."""
        return cls(ca_file=ca_file, timeout=timeout, backoff=Backoff(base=dt.timedelta(seconds=retry_base_seconds)))


class Exchange(NodeService):
    """This node's HTTP federation endpoint and delivery runs."""

    def next_hops(self) -> dict[str, NodePublicKeys]:
        """The current public keys of every pinned peer, by party: what a release queued for delivery seals for.

        The same as ``Peers.next_hops``, for the API's node, which holds no ``Peers``.
        """
        return Peers(database=self._db, home=self._home).next_hops()

    def receive(self, body: bytes, *, world: World, node: UnlockedNode, at: dt.datetime | None = None) -> bytes:
        """Accept a posted batch, a few messages per transaction; the response body (receipts, refusals opaque).

        Raises:
            RejectedError: the body is not a batch (audited; nothing else stored).
        """
        at = at or utc_now()
        try:
            datas = decode_batch(body)
        except RejectedError as e:
            self._refused(e.reason, body, at=at, me=node.identity.party)
            raise
        inbound = Inbound(database=self._db, home=self._home)
        results = []
        flash = _all_flash(datas)
        with urgent() if flash else nullcontext():
            for start in range(0, len(datas), _STORE_CHUNK):
                yield_to_urgent()
                chunk = datas[start : start + _STORE_CHUNK]
                results.extend(inbound.accept_many(chunk, world=world, node=node, at=at))
        if flash:  # a hub queues a FLASH onward: its lane sends it now
            signal_flash(self._home)
        return encode_results([None if r is None else r.receipt or b"" for r in results])

    def refuse_oversized(self, head: bytes, *, limit: int, node: UnlockedNode, at: dt.datetime | None = None) -> None:
        """Audit a body refused for being over ``limit`` bytes (``head``: what was read of it)."""
        self._refused(f"the body is over the limit of {limit} bytes", head, at=at or utc_now(), me=node.identity.party)

    def deliver(  # noqa: PLR0913 - which peers, how, and on which lane
        self,
        *,
        node: UnlockedNode,
        peer: str | None = None,
        options: DeliveryOptions | None = None,
        at: dt.datetime | None = None,
        lane: Lane = "all",
        transport: HttpTransport | None = None,
    ) -> list[Delivery]:
        """One delivery run over HTTP to ``peer`` (default: every pinned peer with a URL).

        ``lane`` picks the precedences: ``"flash"`` (FLASH only), ``"others"`` (the rest)
        or ``"all"``. Each lane of a peer has a lease (``Database.lease``), so that two
        processes never send one peer's FLASH, or its other messages, at once; a peer
        whose lease another process holds is skipped this run (it is being delivered):
        an ``"all"`` run sends the lanes whose lease it got. The result has one
        :class:`Delivery` per peer tried. ``transport`` is kept by a caller that runs
        often (its URLs are brought up to date here); otherwise one is made and closed.

        Raises:
            UnknownReferenceError: ``peer`` is not pinned.
        """
        options = options or DeliveryOptions()
        with self._db.reading("read the pinned peers") as session:
            urls = {p.party: p.url for p in SqlFederationStore(session).peers()}
        if peer is not None:
            peer = peer.upper()
            if peer not in urls:
                msg = f"{peer} is not a pinned peer"
                raise UnknownReferenceError(msg, hint="`accord peers list` shows the pinned peers")
        targets: Sequence[str] = [peer] if peer is not None else sorted(p for p, url in urls.items() if url)
        if not targets:
            return []
        outbox = Outbox(database=self._db, home=self._home)
        owned = transport is None
        sender = transport or HttpTransport(urls, ca_file=options.ca_file, timeout=options.timeout)
        sender.urls = urls
        done = []
        try:
            for party in targets:
                with self._leases(party, lane) as ranks:
                    if ranks is None:
                        continue
                    done.append(
                        outbox.deliver(
                            party,
                            sender,
                            node=node,
                            at=at,
                            batch_size=options.batch_size,
                            backoff=options.backoff,
                            limit=options.limit,
                            ranks=None if ranks == _ALL else ranks,
                        )
                    )
        finally:
            if owned:
                sender.close()
        return done

    def flash_signal(self) -> FlashSignal:
        """The FLASH lane's cheap check: has a FLASH been signalled on this host since the last?"""
        return FlashSignal(self._home)

    def flash_watch(self, node: UnlockedNode) -> FlashWatch:
        """A watch for FLASH messages becoming due from ``node`` (the FLASH lane's look)."""
        return FlashWatch(self._db, sender=node.identity.party)

    @contextmanager
    def _leases(self, party: str, lane: Lane) -> Iterator[range | None]:
        """The ranks this process may send to ``party`` on ``lane`` while the block runs (``None``: none)."""
        flash, others = f"accord.outbox.{party}.flash", f"accord.outbox.{party}"
        with ExitStack() as held:
            got_flash = lane != "others" and held.enter_context(self._db.lease(flash))
            got_others = lane != "flash" and held.enter_context(self._db.lease(others))
            if got_flash and got_others:
                yield _ALL
            elif got_flash:
                yield FLASH_RANKS
            elif got_others:
                yield OTHER_RANKS
            else:
                yield None

    def _refused(self, reason: str, data: bytes, *, at: dt.datetime, me: str) -> None:
        with self._db.transaction("audit the refused batch") as session:
            audit.append(
                session,
                kind=EntryKind.MESSAGE,
                actor=me,
                at=at,
                digests={"message": hashlib.sha256(data).hexdigest()},
                meta={"action": "message.accept", "outcome": "refused", "reason": reason[:_MAX_REASON]},
            )


def _all_flash(datas: Sequence[bytes]) -> bool:
    """Whether every envelope of a posted batch says FLASH (a claim only: the checks come after).

    A batch that lies gains nothing but a place ahead in this node's queue for the
    writer lock while it is refused.
    """
    try:
        return all(json.loads(d).get("precedence") == Precedence.FLASH.value for d in datas)
    except ValueError:
        return False


class DeliveryLoop:
    """Two background threads delivering every pinned peer's outbox until stopped.

    The loop thread runs :meth:`Exchange.deliver` for the precedences but FLASH every
    ``interval`` seconds: each run sweeps and delivers every peer's due items (items
    waiting out their backoff are not due). A run that sent its full ``limit`` to some
    peer is followed at once by the next (a backlog drains at the link's pace, not one
    run per interval). The FLASH lane looks for a due FLASH when one is signalled
    (``_flash_watch``: it waits on a pipe), and at least every quarter of a second, and
    sends it at once on a connection of its own, whatever batch the loop has in flight: a
    FLASH never waits behind another message here. It is urgent work
    (``_turns.urgent``): its writes go first and the loop's work pauses meanwhile. A
    failed run is logged and each thread goes on.
    """

    def __init__(
        self,
        exchange: Exchange,
        *,
        node: UnlockedNode,
        interval: float,
        options: DeliveryOptions | None = None,
        transport: Callable[[], HttpTransport] | None = None,
    ) -> None:
        """Deliver for ``node`` through ``exchange``; ``transport`` makes each thread's (default: from ``options``)."""
        self._exchange, self._node, self._interval = exchange, node, interval
        self._options = options or DeliveryOptions()
        self._transport = transport or self._http
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads (again after :meth:`stop`: an app's lifespan may run more than once)."""
        if any(t.is_alive() for t in self._threads):
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._run,), name="accord-delivery", daemon=True),
            threading.Thread(target=self._guarded, args=(self._run_flash,), name="accord-flash", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the threads to stop and wait for their current runs to end."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _http(self) -> HttpTransport:
        return HttpTransport({}, ca_file=self._options.ca_file, timeout=self._options.timeout)

    def _guarded(self, run: Callable[[HttpTransport], None]) -> None:
        transport = self._transport()
        try:
            run(transport)
        finally:
            transport.close()

    def _deliver(self, transport: HttpTransport, lane: Lane) -> list[Delivery]:
        try:
            runs = self._exchange.deliver(node=self._node, options=self._options, lane=lane, transport=transport)
        except Exception:  # noqa: BLE001 - a bad run must not end delivery for good
            _log.exception("delivery run failed (%s)", lane)
            return []
        return runs

    def _run(self, transport: HttpTransport) -> None:
        while not self._stop.is_set():
            runs = self._deliver(transport, "others")
            if not any(run.sent >= self._options.limit for run in runs):  # a full run: more is due, go on at once
                self._stop.wait(self._interval)

    def _run_flash(self, transport: HttpTransport) -> None:
        signal = self._exchange.flash_signal()
        watch, due = None, True  # first: whatever was due before the lane started
        try:
            while not self._stop.is_set():
                try:
                    if watch is None:
                        watch = self._exchange.flash_watch(self._node)
                    elif not due:
                        signal.wait(LOOK_SECONDS)  # a signal, or the time for a look anyway
                        due = not self._stop.is_set() and watch.due(at=utc_now())
                    if due:
                        with urgent():
                            self._deliver(transport, "flash")
                        due = watch.due(at=utc_now())  # one sealed meanwhile goes next, signalled or not
                except Exception:  # noqa: BLE001 - as a bad run
                    _log.exception("looking for a FLASH failed")
                    due = watch is None
                    self._stop.wait(self._interval)  # not a log line every few milliseconds
        finally:
            signal.close()
