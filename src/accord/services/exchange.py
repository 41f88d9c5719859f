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
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from accord.audit.entry import EntryKind
from accord.crypto import NodePublicKeys
from accord.domain.world import World
from accord.errors import UnknownReferenceError
from accord.federation.delivery import Backoff
from accord.federation.messages import RejectedError
from accord.federation.peer_client import FEDERATION_PATH, HttpTransport, decode_batch, encode_results
from accord.services import audit
from accord.services._database import NodeService
from accord.services.inbound import Inbound
from accord.services.node import UnlockedNode, utc_now
from accord.services.outbox import Delivery, Outbox, pinned_descriptors
from accord.storage.sql import SqlFederationStore

__all__ = ["FEDERATION_PATH", "DeliveryLoop", "DeliveryOptions", "Exchange"]

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
        """The current public keys of every pinned peer, by party: what a release queued for delivery seals for."""
        with self._db.transaction("read the pinned peers") as session:
            return {party: d.public for party, d in pinned_descriptors(session).items()}

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
        for start in range(0, len(datas), _STORE_CHUNK):
            results.extend(inbound.accept_many(datas[start : start + _STORE_CHUNK], world=world, node=node, at=at))
        return encode_results([None if r is None else r.receipt or b"" for r in results])

    def refuse_oversized(self, head: bytes, *, limit: int, node: UnlockedNode, at: dt.datetime | None = None) -> None:
        """Audit a body refused for being over ``limit`` bytes (``head``: what was read of it)."""
        self._refused(f"the body is over the limit of {limit} bytes", head, at=at or utc_now(), me=node.identity.party)

    def deliver(
        self,
        *,
        node: UnlockedNode,
        peer: str | None = None,
        options: DeliveryOptions | None = None,
        at: dt.datetime | None = None,
    ) -> list[Delivery]:
        """One delivery run over HTTP to ``peer`` (default: every pinned peer with a URL).

        A peer whose lease another process holds is skipped this run (it is being
        delivered); the result has one :class:`Delivery` per peer tried.

        Raises:
            UnknownReferenceError: ``peer`` is not pinned.
        """
        options = options or DeliveryOptions()
        with self._db.transaction("read the pinned peers") as session:
            urls = {p.party: p.url for p in SqlFederationStore(session).peers()}
        if peer is not None:
            peer = peer.upper()
            if peer not in urls:
                msg = f"{peer} is not a pinned peer"
                raise UnknownReferenceError(msg, hint="`accord peers list` shows the pinned peers")
        targets: Sequence[str] = [peer] if peer is not None else sorted(p for p, url in urls.items() if url)
        outbox = Outbox(database=self._db, home=self._home)
        transport = HttpTransport(urls, ca_file=options.ca_file, timeout=options.timeout)
        done = []
        try:
            for party in targets:
                with self._db.lease(f"accord.outbox.{party}") as held:
                    if not held:
                        continue
                    done.append(
                        outbox.deliver(
                            party,
                            transport,
                            node=node,
                            at=at,
                            batch_size=options.batch_size,
                            backoff=options.backoff,
                            limit=options.limit,
                        )
                    )
        finally:
            transport.close()
        return done

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


class DeliveryLoop:
    """A background thread running :meth:`Exchange.deliver` every ``interval`` seconds until stopped.

    Each run sweeps and delivers every peer's due items (FLASH first; items waiting out
    their backoff are not due). A run that sent its full ``limit`` to some peer is
    followed at once by the next (a backlog drains at the link's pace, not one run per
    interval); otherwise the loop waits ``interval``. A failed run is logged and the
    loop goes on.
    """

    def __init__(
        self, exchange: Exchange, *, node: UnlockedNode, interval: float, options: DeliveryOptions | None = None
    ) -> None:
        """Deliver for ``node`` through ``exchange``."""
        self._exchange, self._node, self._interval = exchange, node, interval
        self._options = options or DeliveryOptions()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start a thread (again after :meth:`stop`: an app's lifespan may run more than once)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="accord-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for its current run to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            full = False
            try:
                runs = self._exchange.deliver(node=self._node, options=self._options)
                full = any(run.sent >= self._options.limit for run in runs)
            except Exception:  # noqa: BLE001 - a bad run must not end delivery for good
                _log.exception("delivery run failed")
            if not full:  # a full run means more is due: go on at once, else the interval caps the rate
                self._stop.wait(self._interval)
