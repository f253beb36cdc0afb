"""Portico's benchmarks, every figure of issue 9 in one run, measured from a client.

    python -m bench.run [WORKLOAD ...] [--quick] [--json] [--soak-minutes N] …
    python -m bench.run compare --baseline REV [WORKLOAD ...] …

Workloads (all of them by default, in this order):
  floor       one durable hop in plain asyncpg + aio-pika, on the same servers (bench.floor)
  chain       40 chained transform nodes: per-node and per-hop p50/p99, ratios to the floor
  parallel    20 parallel 100 ms waits → merge: makespan p50/p99
  throughput  trigger → 1 node, 32 clients: runs/s, CPU per execution of every process
  scaleout    http nodes against a 50 ms server: 1, 2, 4 executors; 1 vs 2 orchestrators
  webhook     webhook → 1 node → answer: requests/s and latency beside manual runs
  credential  http chain with and without a credential: per-node p50 and their ratio
  memory      RSS per service at idle, after warm-up and after --soak-minutes of steady load

Each run starts Portico with `portico up` on a database and RabbitMQ vhost of its own (dropped
afterwards). `compare` also unpacks REV under /tmp (bench.tree), starts it beside this checkout
and runs each workload on both, alternating which goes first, then prints both and the ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import fields
from typing import Any

from bench.credential import credential
from bench.harness import Deployment, running_stack
from bench.latency import chain, floor, parallel
from bench.memory import memory
from bench.options import Options
from bench.report import (
    Outcome,
    comparison_targets,
    format_comparison,
    format_outcome,
    format_targets,
    target_rows,
)
from bench.scaleout import scaleout
from bench.throughput import throughput
from bench.tree import CURRENT, SourceTree, baseline_tree
from bench.webhook import webhook

Workload = Callable[[Deployment, Options], Outcome]
WORKLOADS: dict[str, Workload] = {
    "floor": floor,
    "chain": chain,
    "parallel": parallel,
    "throughput": throughput,
    "scaleout": scaleout,
    "webhook": webhook,
    "credential": credential,
    "memory": memory,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "workloads", nargs="*", metavar="WORKLOAD", help="`compare`, then workloads; none means all"
    )
    parser.add_argument(
        "--baseline", metavar="REV", help="with compare: the git revision to compare"
    )
    parser.add_argument("--quick", action="store_true", help="short runs, to check the bench works")
    parser.add_argument("--json", action="store_true", help="print one JSON document, no tables")
    defaults = Options()
    for option in fields(Options):
        flag = "--" + option.name.replace("_", "-")
        parser.add_argument(
            flag,
            type=type(getattr(defaults, option.name)),
            default=None,
            help=f"default {getattr(defaults, option.name)}",
        )
    return parser


def _options(args: argparse.Namespace) -> Options:
    chosen = {f.name: getattr(args, f.name) for f in fields(Options)}
    options = Options(**{k: v for k, v in chosen.items() if v is not None})
    if args.quick:
        options = options.quick()
    return options


def _selected(names: list[str]) -> list[str]:
    names = [name for name in names if name != "all"]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        raise SystemExit(
            f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(WORKLOADS)}"
        )
    chosen = set(names or WORKLOADS)
    if "chain" in chosen:
        chosen.add("floor")  # the chain's targets are ratios to the floor of the same run
    return [name for name in WORKLOADS if name in chosen]


def _say(text: str, to_json: bool) -> None:
    print(text, file=sys.stderr if to_json else sys.stdout, flush=True)


def _attempt(name: str, deployment: Deployment, options: Options) -> Outcome | None:
    print(f"bench: {name} on {deployment.stack.tree.label} …", file=sys.stderr, flush=True)
    try:
        return WORKLOADS[name](deployment, options)
    except Exception:
        print(f"bench: {name} failed on {deployment.stack.tree.label}:", file=sys.stderr)
        traceback.print_exc()
        return None


def _start(trees: list[SourceTree], exits: ExitStack) -> dict[str, Deployment]:
    started = {}
    for tree in trees:
        print(f"bench: starting {tree.label} ({tree.root}) …", file=sys.stderr, flush=True)
        started[tree.label] = exits.enter_context(running_stack(tree))
    return started


def _all_ok(outcomes: list[Outcome | None]) -> bool:
    return all(o is not None and all(c.ok for c in o.checks) for o in outcomes)


def run_current(names: list[str], options: Options, to_json: bool) -> int:
    outcomes: dict[str, Outcome] = {}
    attempted: list[Outcome | None] = []
    with ExitStack() as exits:
        deployment = _start([CURRENT], exits)[CURRENT.label]
        for name in names:
            outcome = _attempt(name, deployment, options)
            attempted.append(outcome)
            if outcome is not None:
                outcomes[name] = outcome
                _say(format_outcome(outcome) + "\n", to_json)
    _say(format_targets(outcomes), to_json)
    if to_json:
        print(json.dumps(_document(outcomes), indent=2))
    return 0 if _all_ok(attempted) else 1


def _document(outcomes: dict[str, Outcome]) -> dict[str, Any]:
    return {
        "outcomes": [outcome.as_json() for outcome in outcomes.values()],
        "targets": target_rows(outcomes),
    }


def run_compare(rev: str, names: list[str], options: Options, to_json: bool) -> int:
    baseline = baseline_tree(rev)
    results: dict[str, dict[str, Outcome]] = {baseline.label: {}, CURRENT.label: {}}
    attempted: list[Outcome | None] = []
    with ExitStack() as exits:
        deployments = _start([baseline, CURRENT], exits)
        for index, name in enumerate(names):
            # Alternate which side goes first, so a drift of the machine hits both alike.
            order = [baseline.label, CURRENT.label][:: 1 if index % 2 == 0 else -1]
            for label in order:
                outcome = _attempt(name, deployments[label], options)
                attempted.append(outcome)
                if outcome is not None:
                    results[label][name] = outcome
            before, after = results[baseline.label].get(name), results[CURRENT.label].get(name)
            if before is not None and after is not None:
                _say(
                    format_comparison(before, after, baseline.label, CURRENT.label) + "\n", to_json
                )
    _say(comparison_targets(results[baseline.label], results[CURRENT.label]), to_json)
    if to_json:
        document = {label: _document(outcomes) for label, outcomes in results.items()}
        print(
            json.dumps(
                {"baseline": document[baseline.label], "current": document[CURRENT.label]}, indent=2
            )
        )
    return 0 if _all_ok(attempted) else 1


def main() -> None:
    args = _parser().parse_intermixed_args()
    names = list(args.workloads)
    comparing = bool(names) and names[0] == "compare"
    if comparing:
        names = names[1:]
        if not args.baseline:
            raise SystemExit("compare needs --baseline REV")
    elif args.baseline:
        raise SystemExit("--baseline goes with compare: python -m bench.run compare --baseline REV")
    options, selected = _options(args), _selected(names)
    if comparing:
        sys.exit(run_compare(args.baseline, selected, options, args.json))
    sys.exit(run_current(selected, options, args.json))


if __name__ == "__main__":
    main()
