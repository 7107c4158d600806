"""The region-loss runbook's order and RTO budget, as data.

docs/runbooks/disaster-recovery.md ("Region loss") holds the table
:func:`render_region_loss` writes: every step of rebuilding an environment in its
DR region, the command of each stack in deployment order, and the minutes each
is budgeted. ``make runbook`` rewrites it; tests/test_region_recovery.py fails when
the runbook's copy differs, when the stacks' order is not the synthesized order, or
when the total reaches the seed's RTO.

Budgets are expectations (:attr:`Step.basis` says whence) until the quarterly drill
measures the one that dominates: the database's restore. Once
docs/runbooks/drills.md holds a passed drill, the restore's budget is the slowest
restore a drill measured, rounded up to 5 minutes, if that exceeds the expectation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kreo_infra.config import EnvironmentConfig
from kreo_infra.layers import PHASES

RTO_MINUTES = 240
"""The seed: RTO < 4 hours."""

BEGIN = "<!-- region-loss-budget:begin (make runbook) -->"
END = "<!-- region-loss-budget:end -->"

RESTORE_LAYER = "data"
"""The layer whose apply restores the database (its budget is the drill's to correct)."""


@dataclass(frozen=True)
class Step:
    """One step of a region loss's recovery: ``layer`` (a stack, deployed with
    ``make deploy``) or a manual ``action``; ``minutes`` budgeted, and ``basis``:
    where the figure comes from."""

    minutes: int
    basis: str
    layer: str | None = None
    action: str | None = None


REGION_LOSS_STEPS: tuple[Step, ...] = (
    Step(30, "3 x 5-minute alarm periods, then the on-call lead's decision", action="declare"),
    Step(3, "tags and a resource group", layer="base"),
    Step(10, "VPC, three NAT gateways, endpoints, flow logs", layer="network"),
    Step(5, "a regional web ACL; the API certificate is read, issued in peacetime", layer="edge"),
    Step(25, "EKS control plane (~10 min), node groups, add-ons, runners", layer="cluster"),
    Step(
        90,
        "point-in-time restore: no AWS figure; replays up to a day of logs "
        "(research: docs/design/region-recovery-research.md §6); cache and search "
        "are created meanwhile",
        layer="data",
    ),
    Step(5, "secrets' replicas set, images in the region", action="preflight"),
    Step(
        5,
        "Route 53: delete the recovered cluster's api record and its TXT records",
        action="handover",
    ),
    Step(15, "Helm add-ons; external-dns writes api.<domain>", layer="platform"),
    Step(10, "the marketplace chart; the load balancer", layer="app"),
    Step(5, "a vault and two plans", layer="backup"),
    Step(5, "alarms and the dashboard", layer="observability"),
    Step(20, "smoke tests, a test order, the dashboard; then reopen", action="verify"),
)
"""Every step, in order: the layers in deployment order (a test checks them against
``layers.ENVIRONMENT_LAYERS``), the manual steps where they fall."""

ACTIONS = {
    "declare": "Declare the disaster, freeze deploys (on-call lead)",
    "preflight": "`make preflight ENV={env} STAGE=workloads`",
    "handover": "Hand `api.<domain>` over (below)",
    "verify": "Verify and reopen (below)",
}

_DRILL_ROW = re.compile(r"^\|\s*\d{4}-\d{2}-\d{2}")


def drilled_restore_minutes(drills_markdown: str) -> float | None:
    """The slowest ``restore-available`` of a passed drill in docs/runbooks/drills.md's
    table, or None before the first."""
    header: list[str] | None = None
    slowest: float | None = None
    for line in drills_markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| date"):
            header = cells
        elif header and _DRILL_ROW.match(line):
            row = dict(zip(header, cells, strict=False))
            if row.get("result") != "passed":
                continue
            value = float(row["restore-available (min)"])
            slowest = value if slowest is None else max(slowest, value)
    return slowest


def budget(drilled_restore: float | None = None) -> list[Step]:
    """The steps with the restore's budget raised to the slowest drilled restore."""
    steps = list(REGION_LOSS_STEPS)
    if drilled_restore is not None:
        measured = 5 * math.ceil(drilled_restore / 5)
        steps = [
            Step(
                measured,
                f"slowest drilled restore ({drilled_restore:g} min, drills.md)",
                layer=s.layer,
            )
            if s.layer == RESTORE_LAYER and measured > s.minutes
            else s
            for s in steps
        ]
    return steps


def render_region_loss(config: EnvironmentConfig, steps: Sequence[Step]) -> str:
    """The runbook's table for recovery environment ``config``: one row per step, the
    command of each stack, the minutes, the running total, and the total."""
    phase_of = {layer: phase for phase, layers in PHASES.items() for layer in layers}
    rows = [
        "| # | step | command | budget (min) | by then (min) | basis |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    elapsed = 0
    for number, step in enumerate(steps, start=1):
        elapsed += step.minutes
        if step.layer is not None:
            what = f"`{config.stack_prefix}-{step.layer}` ({phase_of[step.layer]})"
            command = f"`make deploy ENV={config.name} STACK={step.layer}`"
        else:
            what = step.action or ""
            command = ACTIONS[what].format(env=config.name)
        rows.append(
            f"| {number} | {what} | {command} | {step.minutes} | {elapsed} | {step.basis} |"
        )
    total = sum(s.minutes for s in steps)
    return "\n".join(
        [
            BEGIN,
            *rows,
            "",
            f"Total: **{total} minutes** of the seed's {RTO_MINUTES} "
            f"({RTO_MINUTES - total} to spare).",
            END,
        ]
    )


def replace_block(document: str, block: str) -> str:
    """``document`` with its region-loss block replaced by ``block``."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + block + document[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kreo_infra.recovery.budget --config config --runbook <md> --drills <md>``:
    rewrite the runbook's region-loss table for the (one) recovery environment."""
    import argparse
    from pathlib import Path

    from kreo_infra.config.loader import load_environments

    parser = argparse.ArgumentParser(prog="python -m kreo_infra.recovery.budget")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--runbook", type=Path, required=True)
    parser.add_argument("--drills", type=Path, required=True)
    args = parser.parse_args(argv)
    (recovery,) = [c for c in load_environments(args.config) if c.recovery_of is not None]
    steps = budget(drilled_restore_minutes(args.drills.read_text(encoding="utf-8")))
    runbook = args.runbook.read_text(encoding="utf-8")
    args.runbook.write_text(
        replace_block(runbook, render_region_loss(recovery, steps)), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
