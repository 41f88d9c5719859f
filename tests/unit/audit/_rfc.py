"""RFC 9162 section 2.1 written out literally (recursive, slow): the oracle for the tests."""

from __future__ import annotations

import hashlib


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = _k(n)
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def _subproof(m: int, d: list[bytes], *, whole: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if whole else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, d[:k], whole=whole), mth(d[k:])]
    return [*_subproof(m - k, d[k:], whole=False), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    if m in {0, len(d)}:
        return []
    return _subproof(m, d, whole=True)
