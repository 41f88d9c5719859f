"""The dependency rule of docs/architecture.md, enforced on the source tree.

domain <- policy <- services -> {storage, crypto, audit, federation}; api, cli and web
call services only. domain and policy import no database, web or HTTP library, and
read neither the environment nor the clock.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "accord"
SHARED = {"accord.errors", "accord.canonical"}
BANNED_IN_CORE = {
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "httpx",
    "requests",
    "os",
    "time",
    "typer",
    "rich",
    "pydantic",
    "pydantic_settings",
    "yaml",
    "cryptography",
}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "getenv"}


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def allowed_accord(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed | SHARED)


@pytest.mark.parametrize(
    ("package", "allowed"),
    [("domain", {"accord.domain"}), ("policy", {"accord.domain", "accord.policy"}), ("audit", {"accord.audit"})],
)
def test_pure_core_imports(package, allowed):
    for path in modules(package):
        for module in imports(path):
            root = module.split(".")[0]
            assert root not in BANNED_IN_CORE, f"{path.relative_to(SRC)} imports {module}"
            if root == "accord":
                assert allowed_accord(module, allowed), f"{path.relative_to(SRC)} imports {module}"


@pytest.mark.parametrize("package", ["domain", "policy", "audit", "crypto"])
def test_pure_core_reads_no_clock_or_environment(package):
    for path in modules(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in CLOCK_CALLS, (
                    f"{path.relative_to(SRC)}:{node.lineno} calls .{node.func.attr}()"
                )
            if isinstance(node, ast.Attribute) and node.attr == "environ":
                pytest.fail(f"{path.relative_to(SRC)}:{node.lineno} reads the environment")


INTERFACES = [p for p in ("cli", "api", "web") if (SRC / p).exists()]


@pytest.mark.parametrize("package", INTERFACES)
def test_interfaces_call_services_only(package):
    for path in modules(package):
        for module in imports(path):
            if module.split(".")[0] == "accord":
                assert allowed_accord(module, {"accord.services", "accord.config", f"accord.{package}"}), (
                    f"{path.relative_to(SRC)} imports {module}: interfaces call accord.services only"
                )


def test_only_crypto_imports_cryptographic_primitives():
    for path in SRC.rglob("*.py"):
        if "crypto" in path.relative_to(SRC).parts[:1]:
            continue
        for module in imports(path):
            assert not module.startswith("cryptography"), f"{path.relative_to(SRC)} imports {module}"


def test_storage_never_reaches_up_into_services_or_interfaces():
    for path in modules("storage"):
        for module in imports(path):
            for upper in (
                "accord.services",
                "accord.cli",
                "accord.api",
                "accord.web",
                "accord.policy",
            ):
                assert not module.startswith(upper), f"{path.relative_to(SRC)} imports {module}"
