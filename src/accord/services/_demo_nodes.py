"""The three demo nodes (KOR, USA, JPN): their homes, people, pins and ``accord serve`` processes.

:func:`prepare` makes each node's home under a directory as ``accord init`` would
(database, shipped world loaded into the registry, identity with its keys under a
fresh random passphrase and the real scrypt KDF), adds a few people with API tokens,
and pins every node to the two others by their self-signed descriptors (the
fingerprint checked as an operator would over the phone). :meth:`DemoNode.start`
runs the node as its own ``python -m accord serve`` OS process, in a process group of
its own, on a loopback port chosen free; :meth:`DemoNode.stop` ends that group.
Nothing here decides what the demo plays (``services.demo`` does) or prints.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import httpx

from accord.errors import Error, PeerUnreachableError
from accord.services import node as nodes
from accord.services._database import Database
from accord.services.node import NodeIdentity, UnlockedNode
from accord.services.peers import Peers, export_descriptor
from accord.services.people import People, PersonDraft
from accord.services.world import init_node, load_into_registry, read_world

__all__ = ["PARTIES", "DemoError", "DemoNode", "add_people", "pin", "prepare"]

PARTIES: Final = ("KOR", "USA", "JPN")
_PR_SET_PDEATHSIG: Final = 1  # linux/prctl.h
# Each node's people: id -> (roles, clearance in the node's own scheme, need-to-know).
_TOPICS: Final = ("dprk-missile", "maritime-security")
_CLEARANCE: Final = {"KOR": "KOR/MIL-II", "USA": "USA/SECRET", "JPN": "JPN/GOKUHI"}
_PEOPLE: Final = {
    "analyst": (("analyst",), _TOPICS),
    "officer": (("disclosure-officer",), _TOPICS),
}
# Who each node needs: KOR writes and releases, JPN reads its inbox and reports; every
# administrator verifies its node's audit log. Fewer people, fewer password hashes.
_NEEDED: Final = {"KOR": ("analyst", "officer"), "USA": (), "JPN": ("analyst",)}
_START_TIMEOUT_S: Final = 90.0
_STOP_TIMEOUT_S: Final = 20.0
# Short delivery intervals and retry waits so that the demo's messages move within a
# second; these are the ordinary settings (ACCORD_DELIVERY_INTERVAL, ...), not unsafe ones.
_SERVE_SETTINGS: Final = {"ACCORD_DELIVERY_INTERVAL": "0.25", "ACCORD_RETRY_BASE_SECONDS": "1"}


class DemoError(Error):
    """The demo could not set up or drive its nodes."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(kw_only=True)
class DemoNode:
    """One node of the demo: its home, database, port, people's tokens and server process."""

    party: str
    home: Path
    database_url: str
    port: int
    passphrase: str
    unlocked: UnlockedNode
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL its peers pinned and its API answers at."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def identity(self) -> NodeIdentity:
        """Its public identity (``node.json``)."""
        return self.unlocked.identity

    @property
    def pid(self) -> int | None:
        """The process id of its ``accord serve``, while one was started."""
        return None if self.process is None else self.process.pid

    def database(self) -> Database:
        """A new connection pool on its database (the caller closes it)."""
        return Database(database_url=self.database_url)

    def start(self) -> None:
        """Run ``accord serve`` for this node in its own process group; wait until /health answers.

        Raises:
            DemoError: the server exited or did not answer in time (its log is named).
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        env |= _SERVE_SETTINGS | {
            "ACCORD_HOME": str(self.home),
            "ACCORD_DATABASE_URL": self.database_url,
            "ACCORD_KEY_PASSPHRASE": self.passphrase,
            "PYTHONIOENCODING": "utf-8",
        }
        log_path = self.home / "serve.log"
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter running accord itself
            [sys.executable, "-m", "accord", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, spared the terminal's Ctrl-C
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl call between fork and exec
        )

    def wait_ready(self) -> None:
        """Poll /health until the node answers as its party.

        A server that exits at once (its port, found free, was taken meanwhile by another
        process) is started again on another port, twice at most: the peers pin the URL
        only once every node answers.

        Raises:
            DemoError: the server exited again or did not answer within the timeout.
        """
        deadline = time.monotonic() + _START_TIMEOUT_S
        restarts = 2
        while True:
            if self.process is None or self.process.poll() is not None:
                if restarts == 0 or time.monotonic() > deadline:
                    msg = f"the {self.party} node did not start at {self.url}"
                    raise DemoError(msg, hint=f"its log is {self.home / 'serve.log'}")
                restarts -= 1
                self.stop()
                self.port = _free_port()
                self.start()
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"{self.url}/api/v1/health", timeout=5)
                if answer.status_code == 200 and answer.json().get("party") == self.party:  # noqa: PLR2004
                    return
            if time.monotonic() > deadline:
                msg = f"the {self.party} node did not answer at {self.url}"
                raise DemoError(msg, hint=f"its log is {self.home / 'serve.log'}")
            time.sleep(0.2)

    def stop(self) -> None:
        """End its server's process group: SIGTERM, then SIGKILL after a grace period."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        elif process is not None:
            process.wait()
        if self.log is not None:
            self.log.close()
            self.log = None

    def kill(self) -> None:
        """End its server's process group at once (SIGKILL), when stopping gracefully is cut short."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self.log is not None:
            self.log.close()
            self.log = None

    def api(
        self, method: str, path: str, who: str, *, json: object = None, missing_ok: bool = False
    ) -> dict[str, Any] | Any:  # noqa: ANN401 - a JSON answer (None with missing_ok on a 404)
        """Call this node's HTTP API as one of its people; the JSON answer.

        Raises:
            DemoError: the node answered with an error (its problem detail is named).
            PeerUnreachableError: it did not answer.
        """
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        try:
            answer = httpx.request(method, self.url + path, headers=headers, json=json, timeout=60)
        except httpx.HTTPError as e:
            msg = f"the {self.party} node did not answer {method} {path}: {type(e).__name__}"
            raise PeerUnreachableError(msg) from None
        if missing_ok and answer.status_code == 404:  # noqa: PLR2004
            return None
        if answer.status_code >= 400:  # noqa: PLR2004
            msg = f"the {self.party} node refused {method} {path}: {answer.status_code} {answer.text[:300]}"
            raise DemoError(msg)
        return answer.json()


def _make_node(root: Path, party: str) -> DemoNode:
    home = root / party.lower()
    url = f"sqlite:///{home / 'accord.db'}"
    passphrase = secrets.token_urlsafe(24)
    init_node(home=home, database_url=url)
    load_into_registry(None, database_url=url)
    nodes.create_identity(home=home, party=party, passphrase=passphrase, at=nodes.utc_now())
    unlocked = nodes.unlock(home, passphrase)
    return DemoNode(
        party=party, home=home, database_url=url, port=_free_port(), passphrase=passphrase, unlocked=unlocked
    )


def _add_people(node: DemoNode) -> None:
    """An administrator, an analyst and a disclosure officer, each with an API token."""
    world = read_world(None)
    password = secrets.token_urlsafe(24)
    with People(database=node.database(), home=node.home) as people:
        people.bootstrap(PersonDraft(id="admin", name=f"{node.party} administrator"), password=password, world=world)
        admin = people.authenticate_password("admin", password)
        node.tokens["admin"] = people.issue_token(admin, name="demo").token
        for person_id in _NEEDED[node.party]:
            roles, topics = _PEOPLE[person_id]
            draft = PersonDraft(
                id=person_id,
                name=f"{node.party} {person_id}",
                clearance=_CLEARANCE[node.party],
                need_to_know=topics,
                roles=roles,
            )
            people.add(admin, draft, world=world, password=password)
            principal = people.authenticate_password(person_id, password)
            node.tokens[person_id] = people.issue_token(principal, name="demo").token


def _pin(nodes_: list[DemoNode]) -> None:
    """Every node pins the two others, checking each descriptor's fingerprint."""
    for node in nodes_:
        descriptor = export_descriptor(node.unlocked, url=node.url)
        fingerprint = node.identity.public.fingerprint
        for other in nodes_:
            if other is not node:
                with Peers.open(database_url=other.database_url, home=other.home) as peers:
                    peers.add(descriptor, expect_fingerprint=fingerprint)


def prepare(root: Path) -> list[DemoNode]:
    """Make the three nodes under ``root`` (KOR, USA, JPN) with their identities.

    Raises:
        Error: a home could not be made (the cause named).
    """
    return [_make_node(root, party) for party in PARTIES]


def add_people(made: list[DemoNode]) -> None:
    """Add each node's people with their API tokens."""
    for node in made:
        _add_people(node)


def pin(made: list[DemoNode]) -> None:
    """Pin every node to the two others (once their servers answer: the URLs are final)."""
    _pin(made)


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, a SIGTERM when the demo process dies.

    The demo stops its nodes itself on success, error, Ctrl-C and SIGTERM; this covers
    the one case it cannot see, being killed with SIGKILL, which would otherwise leave
    three servers running. Elsewhere it does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
