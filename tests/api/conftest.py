"""A KOR node served in-process: people of every role with API tokens, records, and a JPN sender.

``api_node`` (module scope) initialises a KOR node home on SQLite, seeds people and
tokens through the real people service, and builds the app with ``create_app`` from
real settings. ``inbox_release`` has a real JPN node seal a release to KOR and KOR
receive it, so the inbox holds one. Tests call the app through ``TestClient``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # Starlette 1.x asks for its httpx fork (httpx2); its TestClient works the same on httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from accord.api.app import create_app
from accord.config import Settings
from accord.crypto.passwords import UNSAFE_FAST_PASSWORDS
from accord.services import node as nodes
from accord.services._database import Database
from accord.services.people import LoginPolicy, People, PersonDraft
from accord.services.records import RecordDraft, Records, parse_portion
from accord.services.releases import Releases
from accord.services.world import init_node, read_world

PASSPHRASE = "api test passphrase"  # noqa: S105 - test secrets
PASSWORD = "a long test password"  # noqa: S105
AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
WORLD = read_world()
FAST = LoginPolicy(passwords=UNSAFE_FAST_PASSWORDS)
SECRET_TITLE = "Sohae launch window"  # noqa: S105 - a record title, not a password
SECRET_TEXT = "launch at 05:10 from Sohae"  # noqa: S105 - a record text

# id -> (roles, clearance, need-to-know)
PEOPLE: dict[str, tuple[tuple[str, ...], str | None, tuple[str, ...]]] = {
    "analyst": (("analyst",), "KOR/MIL-II", ("dprk-missile",)),
    "low": (("analyst",), "KOR/MIL-III", ("dprk-missile",)),
    "nontk": (("analyst",), "KOR/MIL-II", ("logistics",)),
    "officer": (("disclosure-officer",), "KOR/MIL-II", ("dprk-missile",)),
    "security": (("security-officer",), None, ()),
    "logistics": (("logistics-officer",), "KOR/MIL-III", ()),
    "nobody": ((), "KOR/MIL-I", ("dprk-missile",)),
}


@dataclass
class ApiNode:
    home: Path
    url: str
    settings: Settings
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    secret_record: str = ""
    open_record: str = ""

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str | None = None, **kwargs):
        return self.client.get(path, headers=self.auth(who) if who else {}, **kwargs)

    def post(self, path: str, who: str | None = None, **kwargs):
        return self.client.post(path, headers=self.auth(who) if who else {}, **kwargs)


def make_home(root: Path, party: str, url: str | None = None) -> tuple[Path, str]:
    home = root / party.lower()
    url = url or f"sqlite:///{root / (party.lower() + '.db')}"
    init_node(home=home, database_url=url)
    nodes.create_identity(home=home, party=party, passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    return home, url


def seed_people(home: Path, url: str) -> dict[str, str]:
    """Every person of PEOPLE plus an administrator, each with an API token; id -> token."""
    with People(database=Database(database_url=url), home=home, policy=FAST) as people:
        people.bootstrap(PersonDraft(id="admin", name="Admin"), password=PASSWORD, world=WORLD)
        admin = people.authenticate_password("admin", PASSWORD)
        tokens = {"admin": people.issue_token(admin, name="tests").token}
        for person_id, (roles, clearance, topics) in PEOPLE.items():
            draft = PersonDraft(id=person_id, clearance=clearance, need_to_know=topics, roles=roles)
            people.add(admin, draft, world=WORLD, password=PASSWORD)
            principal = people.authenticate_password(person_id, PASSWORD)
            tokens[person_id] = people.issue_token(principal, name="tests").token
    return tokens


def write_record(home: Path, url: str, *portions: str, title: str, topics=("dprk-missile",)) -> str:
    unlocked = nodes.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    draft = RecordDraft(title=title, topics=topics, portions=tuple(parse_portion(p) for p in portions))
    with Records(database=Database(database_url=url), home=home) as records:
        return records.create(draft, world=WORLD, passphrase=None, node=unlocked).id


def settings_for(home: Path, url: str) -> Settings:
    return Settings(home=home, database_url=url, key_passphrase=PASSPHRASE, unsafe_fast_kdf=True)


def build(root: Path, url: str | None = None) -> ApiNode:
    home, url = make_home(root, "KOR", url)
    tokens = seed_people(home, url)
    settings = settings_for(home, url)
    api = ApiNode(home=home, url=url, settings=settings, client=TestClient(create_app(settings)), tokens=tokens)
    api.secret_record = write_record(home, url, f"KOR/MIL-II:JPN:{SECRET_TEXT}", title=SECRET_TITLE)
    api.open_record = write_record(
        home, url, "KOR/MIL-III:JPN:routine note", "KOR/MIL-II:JPN:a secret paragraph", title="Weekly summary"
    )
    return api


def receive_from_jpn(api: ApiNode, root: Path, *, level: str = "JPN/GOKUHI", title: str = "JPN warning") -> str:
    """A JPN node releases a record to KOR; KOR receives it. The release id."""
    jpn_home, jpn_url = make_home(root, "JPN")
    record_id = write_record(jpn_home, jpn_url, f"{level}:KOR:radar track from the JPN side", title=title)
    jpn = nodes.unlock(jpn_home, PASSPHRASE, unsafe_fast_kdf=True)
    kor = nodes.unlock(api.home, PASSPHRASE, unsafe_fast_kdf=True)
    with Releases(database=Database(database_url=jpn_url), home=jpn_home) as releases:
        outcome = releases.release(
            record_id, "KOR", world=WORLD, node=jpn, next_hop=kor.identity, on=dt.date(2024, 1, 1)
        )
    assert outcome.message is not None, outcome.decision.reasons
    with Releases(database=Database(database_url=api.url), home=api.home) as releases:
        received = releases.receive(outcome.message.to_bytes(), world=WORLD, node=kor, sender=jpn.identity)
    return received.release.id


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> ApiNode:
    return build(tmp_path_factory.mktemp("api"))
