"""Audit log benchmark: verification against raw SHA-256, and proofs at 1M and 10M entries.

Run: ``.venv/bin/python bench/audit.py`` (about a minute; peaks near 0.8 GB).

1. Appends ``--entries`` (1,000,000) realistic audit entries to an ``AuditChain``
   (each built as an ``AuditEntry``, canonicalised with RFC 8785, hashed into the tree)
   and takes a checkpoint.
2. Verification: ``verify_entries`` recomputes every leaf hash and every node of the
   tree from the entries' bytes, compares the leaf hashes with the stored tree and the
   root with the checkpoint. The baseline is ``hashlib.sha256`` over the same entry
   bytes in the same run. Each is timed ``--passes`` times, alternating; the medians
   give the rates and their ratio. A one-byte change is then checked to be named.
3. Inclusion proofs at 1M entries, then over a tree of ``--big`` (10,000,000) leaves
   (synthetic 8-byte leaves: proof cost does not depend on leaf content), built in
   batches: median and p99 time over ``--proofs`` random indices, and the proof size.

It ends with ``RESULT verify_ratio_vs_sha256=<ratio> proof_ms_1m=<ms> proof_ms_10m=<ms>``.
Targets: ratio at least 0.33, proofs under 1 ms.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable

from accord.audit import (
    AuditChain,
    AuditChainBrokenError,
    AuditEntry,
    EntryKind,
    MerkleTree,
    leaf_hash,
    verify_entries,
    verify_inclusion,
)

KINDS = list(EntryKind)
PARTIES = ("JPN", "USA", "KOR", "AUS")
AGREEMENTS = ("ROK-JPN-GSOMIA", "US-ROK-GSOMIA", "US-JPN-GSOMIA", "TISA-2014")


def realistic_entry(seq: int) -> AuditEntry:
    """An entry like the services will write: ids, one or two digests, short metadata."""
    kind = KINDS[seq % len(KINDS)]
    record = hashlib.sha256(b"record %d" % (seq // 3)).hexdigest()
    digests = {"record": record}
    meta: dict[str, str | int | bool] = {"recipient": PARTIES[seq % 4]}
    if kind in {EntryKind.DECISION, EntryKind.RELEASE, EntryKind.RECEIPT}:
        digests["decision"] = hashlib.sha256(b"decision %d" % seq).hexdigest()
        meta |= {"agreement": AGREEMENTS[seq % 4], "allowed": seq % 5 != 0}
    return AuditEntry(
        seq=seq,
        kind=kind,
        at=f"2026-03-{1 + seq // 86_400 % 28:02d}T{seq // 3600 % 24:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}Z",
        actor=f"KOR/analyst-{seq % 997:04d}",
        subjects=(f"rec-{seq // 3:08d}",),
        digests=digests,
        meta=meta,
    )


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def proof_times(tree: MerkleTree, count: int, rng: random.Random) -> tuple[list[float], int]:
    """Milliseconds per inclusion proof at random indices, and the largest proof in bytes."""
    size, times, largest = tree.size, [], 0
    root = tree.root()
    for _ in range(count):
        index = rng.randrange(size)
        start = time.perf_counter_ns()
        proof = tree.inclusion_proof(index)
        times.append((time.perf_counter_ns() - start) / 1e6)
        largest = max(largest, 32 * len(proof))
        verify_inclusion(tree.leaf(index), index=index, size=size, proof=proof, root=root)
    return times, largest


def report_proofs(label: str, times: list[float], largest: int) -> float:
    median = statistics.median(times)
    p99 = statistics.quantiles(times, n=100)[98]
    print(f"   {label}: median {median * 1000:.1f} us, p99 {p99 * 1000:.1f} us per proof; proof {largest} bytes")
    return median


def verification(args: argparse.Namespace, rng: random.Random) -> tuple[float, float]:
    print(f"== {args.entries:,} entries")
    log = AuditChain(origin="node:KOR")
    start = time.perf_counter()
    for seq in range(args.entries):
        log.append(realistic_entry(seq))
    built = time.perf_counter() - start
    entries = log.entries
    mean = sum(map(len, entries)) / len(entries)
    print(f"   appended in {built:.1f} s ({args.entries / built:,.0f} appends/s, entry built + RFC 8785 + tree)")
    print(
        f"   entries: {mean:.0f} bytes on average (canonical JSON), {min(map(len, entries))}-{max(map(len, entries))}"
    )
    checkpoint = log.checkpoint(at="2026-03-29T00:00:00Z")

    sha256 = hashlib.sha256
    raw_times, verify_times = [], []
    for _ in range(args.passes):
        raw_times.append(timed(lambda: [sha256(e).digest() for e in entries]))
        verify_times.append(timed(lambda: verify_entries(entries, [checkpoint], stored=log.tree)))
    raw, verify = statistics.median(raw_times), statistics.median(verify_times)
    ratio = raw / verify
    print(f"   raw sha256   {args.entries / raw:>12,.0f} entries/s (median of {args.passes} passes)")
    print(f"   verification {args.entries / verify:>12,.0f} entries/s (leaf hashes, every node, stored hashes, root)")
    print(f"   ratio        {ratio:.2f} of the raw rate")
    sample = entries[: args.decode_sample]
    decode = timed(lambda: verify_entries(sample, [], decode=True))
    print(f"   (with decode=True, every entry also parsed and re-canonicalised: {len(sample) / decode:,.0f} entries/s)")

    tampered = list(entries)
    seq = rng.randrange(args.entries)
    changed = bytearray(tampered[seq])
    changed[rng.randrange(len(changed))] ^= 0x20
    tampered[seq] = bytes(changed)
    try:
        verify_entries(tampered, [checkpoint], stored=log.tree)
    except AuditChainBrokenError as e:
        if e.seq != seq:
            sys.exit(f"a one-byte change to entry {seq} was named as entry {e.seq}")
        print(f"   a one-byte change to entry {seq:,} is named: {e.message}")
    else:
        sys.exit(f"a one-byte change to entry {seq} was not detected")

    times, largest = proof_times(log.tree, args.proofs, rng)
    median = report_proofs(f"inclusion proof at {log.size:,}", times, largest)
    bundle = log.prove(seq, checkpoint=checkpoint, signature=bytes(64))
    print(f"   offline proof bundle (JSON, 64-byte signature): {len(json.dumps(bundle.to_dict()))} bytes")
    return ratio, median


def big_tree(args: argparse.Namespace, rng: random.Random) -> float:
    print(f"== {args.big:,} leaves")
    tree = MerkleTree()
    start = time.perf_counter()
    step = 1 << 20
    for lo in range(0, args.big, step):
        tree.extend_packed(b"".join([leaf_hash(i.to_bytes(8, "big")) for i in range(lo, min(lo + step, args.big))]))
    built = time.perf_counter() - start
    print(f"   built in {built:.1f} s ({args.big / built:,.0f} leaves/s, leaf hashes included)")
    times, largest = proof_times(tree, args.proofs, rng)
    median = report_proofs(f"inclusion proof at {tree.size:,}", times, largest)
    past = [rng.randrange(1, args.big) for _ in range(200)]
    start = time.perf_counter()
    for size in past:
        tree.inclusion_proof(rng.randrange(size), size)
    print(f"   (for a past tree size: {(time.perf_counter() - start) / len(past) * 1e6:.1f} us per proof on average)")
    start = time.perf_counter()
    for size in past:
        tree.consistency_proof(size)
    print(
        f"   (consistency proof from a past size: {(time.perf_counter() - start) / len(past) * 1e6:.1f} us on average)"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=10_000_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--decode-sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=9162)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"audit benchmark: Python {sys.version.split()[0]}")
    ratio, proof_1m = verification(args, rng)
    gc.collect()
    proof_10m = big_tree(args, rng)
    print(f"RESULT verify_ratio_vs_sha256={ratio:.2f} proof_ms_1m={proof_1m:.3f} proof_ms_10m={proof_10m:.3f}")


if __name__ == "__main__":
    main()
