"""Decision benchmark: Accord's engine against the same rules written for Cedar.

Run: ``.venv/bin/python bench/decide.py`` (about a minute and a half on two cores).

For the shipped world and for a generated registry of 10,000 agreements among 200
parties (``bench/_worldgen.py``, seeded), it draws a mix of release requests and
answers each one twice: with ``accord.policy.decide`` (the full ``Decision``, its
reasons read so every explanation is built) and with ``cedarpy`` over the world's rules
compiled to Cedar policies (``bench/_cedar.py``), parsed once into a ``PolicySet`` and
the records once into an ``Entities`` handle, all requests in one
``is_authorized_batch`` call. Every allow/deny answer must agree; at the first mismatch
it prints the request and both answers and exits 1.

It prints Accord's decisions per second and p50/p99 latency, Cedar's rate and the
ratio, then one line ``RESULT decisions_per_s=... ratio_vs_cedar=... p99_us=...`` for
the 10,000-agreement registry. Every figure is measured in the run that prints it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cedarpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cedar import cedar_entities, cedar_policies, cedar_request
from _worldgen import Request, generate_requests, generate_world

from accord.domain.world import World
from accord.policy import decide
from accord.serialization.world import load_world

SHIPPED_TOPICS = ("dprk-nuclear", "dprk-missile", "china-navy", "cyber", "maritime-security")
LATENCY_PASSES = 3


@dataclass(frozen=True, slots=True)
class AccordRun:
    rate: float  # decisions per second over all timed passes, explanations built
    median_rate: float  # the same, from the median pass
    cpu_rate: float  # decisions per second of this process's CPU time over the same passes
    first_rate: float  # the untimed-in-RESULT first pass, which builds the engine's tables
    p50_us: float
    p99_us: float
    answers: list[bool]
    routes: Counter[int]  # route length (0: denied, 2: direct, 3: through a hub) -> count


@dataclass(frozen=True, slots=True)
class CedarRun:
    rate: float
    answers: list[bool]
    policies: int
    parse_s: float


def run_accord(world: World, requests: Sequence[Request], min_seconds: float) -> AccordRun:
    """Answer every request once (the warm-up), then time whole passes, then each call.

    The warm-up is the first decision the world sees for most pairs of parties, so the
    engine builds its tables for them then (``accord.policy._index``); its rate is
    printed apart and not part of RESULT.
    """
    start = time.perf_counter()
    decisions = [decide(r.record, r.recipient, on=r.on, world=world) for r in requests]
    for d in decisions:
        d.reasons  # noqa: B018 - as in the timed passes
    first = time.perf_counter() - start
    answers = [d.allowed for d in decisions]
    routes = Counter(len(d.route) for d in decisions)
    del decisions
    passes: list[float] = []
    cpu = time.process_time()
    while sum(passes) < min_seconds:
        start = time.perf_counter()
        for r in requests:
            decide(r.record, r.recipient, on=r.on, world=world).reasons  # noqa: B018 - explanations are measured
        passes.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu
    clock = time.perf_counter_ns
    latencies = []
    for _ in range(LATENCY_PASSES):
        for r in requests:
            t0 = clock()
            decide(r.record, r.recipient, on=r.on, world=world).reasons  # noqa: B018
            latencies.append(clock() - t0)
    cuts = statistics.quantiles(latencies, n=100)
    return AccordRun(
        rate=len(requests) * len(passes) / sum(passes),
        median_rate=len(requests) / statistics.median(passes),
        cpu_rate=len(requests) * len(passes) / cpu,
        first_rate=len(requests) / first,
        p50_us=cuts[49] / 1000,
        p99_us=cuts[98] / 1000,
        answers=answers,
        routes=routes,
    )


def run_cedar(world: World, requests: Sequence[Request], *, by_sender: bool = False) -> CedarRun:
    """Answer every request with Cedar; parsing the policies and the records is timed apart.

    ``by_sender`` splits the policies into one set per sender, an index Cedar does not
    have and that is built outside it, to show how much of Cedar's cost is scanning.
    """
    policies = cedar_policies(world)
    groups: dict[str, list[int]] = {"": list(range(len(requests)))}
    if by_sender:
        groups = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.record.originator, []).append(i)
    t0 = time.perf_counter()
    entities = cedarpy.Entities.from_json_str(cedar_entities([r.record for r in requests]))
    sets = {key: cedarpy.PolicySet.from_str("\n".join(p for s, p in policies if key in ("", s))) for key in groups}
    parse_s = time.perf_counter() - t0
    batches = {
        key: [cedar_request(requests[i].record, requests[i].recipient, requests[i].on) for i in idx]
        for key, idx in groups.items()
    }
    answers = [False] * len(requests)
    elapsed = 0.0
    for key, idx in groups.items():
        t0 = time.perf_counter()
        results = cedarpy.is_authorized_batch(batches[key], sets[key], entities)
        elapsed += time.perf_counter() - t0
        for i, result in zip(idx, results, strict=True):
            if result.diagnostics.errors:
                print(f"cedar could not evaluate request {i}: {result.diagnostics.errors}")
                sys.exit(1)
            answers[i] = result.allowed
    return CedarRun(rate=len(requests) / elapsed, answers=answers, policies=len(policies), parse_s=parse_s)


def check_agree(world: World, requests: Sequence[Request], accord: list[bool], cedar: list[bool]) -> None:
    """Exit 1 at the first request on which the two answers differ."""
    for i, (a, c) in enumerate(zip(accord, cedar, strict=True)):
        if a != c:
            r = requests[i]
            d = decide(r.record, r.recipient, on=r.on, world=world)
            print(f"MISMATCH on request {i} ({r.kind}): accord allowed={a}, cedar allowed={c}")
            print(f"  record {r.record}\n  recipient {r.recipient} on {r.on}")
            print("  accord's reasons:\n    " + "\n    ".join(d.reasons))
            sys.exit(1)


def bench(
    name: str, world: World, requests: list[Request], seconds: float, *, by_sender: bool
) -> tuple[AccordRun, CedarRun]:
    """Measure both engines on one world, check they agree, and print the figures."""
    accord = run_accord(world, requests, seconds)
    cedar = run_cedar(world, requests)
    check_agree(world, requests, accord.answers, cedar.answers)
    allowed = sum(accord.answers)
    print(f"\n== {name}: {len(world.parties)} parties, {len(world.agreements):,} agreements")
    print(
        f"   {len(requests):,} requests: {allowed:,} allowed ({accord.routes[3]:,} through a hub), "
        f"{len(requests) - allowed:,} denied; answers agree on every one"
    )
    kinds = Counter(r.kind for r in requests)
    print("   asked: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(
        f"   accord {accord.rate:>10,.0f} decisions/s with full explanations "
        f"(median pass {accord.median_rate:,.0f}/s); latency p50 {accord.p50_us:.1f} us, p99 {accord.p99_us:.1f} us"
    )
    print(
        f"          ({accord.cpu_rate:,.0f} per second of this process's CPU time; the first pass, which builds "
        f"the engine's tables, {accord.first_rate:,.0f}/s)"
    )
    print(
        f"   cedar  {cedar.rate:>10,.1f} decisions/s ({cedar.policies:,} policies in one set; "
        f"parsing them and the records, {cedar.parse_s:.1f} s, not counted)"
    )
    print(f"   ratio  {accord.rate / cedar.rate:>10,.1f} x")
    if by_sender:
        split = run_cedar(world, requests, by_sender=True)
        check_agree(world, requests, accord.answers, split.answers)
        print(
            f"   (for scale: cedar with the policies split into one set per sender, an index built "
            f"outside it: {split.rate:,.0f} decisions/s, {accord.rate / split.rate:.1f} x below accord)"
        )
    return accord, cedar


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Accord's decision engine against the same rules in Cedar.")
    parser.add_argument("--requests", type=int, default=1500, help="requests at 10,000 agreements (Cedar answers each)")
    parser.add_argument("--shipped-requests", type=int, default=5000, help="requests on the shipped world")
    parser.add_argument("--seconds", type=float, default=4.0, help="time spent on Accord's timed passes, per world")
    parser.add_argument("--agreements", type=int, default=10_000)
    parser.add_argument("--parties", type=int, default=200)
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"decision benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load}")

    shipped = load_world()
    requests = generate_requests(shipped, args.shipped_requests, topics=SHIPPED_TOPICS)
    bench("shipped world", shipped, requests, args.seconds, by_sender=False)

    t0 = time.perf_counter()
    world = generate_world(parties=args.parties, agreements=args.agreements)
    print(f"\n(generated the registry of {len(world.agreements):,} agreements in {time.perf_counter() - t0:.1f} s)")
    requests = generate_requests(world, args.requests)
    accord, cedar = bench("generated registry", world, requests, args.seconds, by_sender=True)
    ratio = accord.rate / cedar.rate
    print(f"\n(load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end)")
    print(f"\nRESULT decisions_per_s={accord.rate:.0f} ratio_vs_cedar={ratio:.0f} p99_us={accord.p99_us:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
