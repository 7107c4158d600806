"""What a saved Terraform plan does, for the person who approves it.

``python -m kreo_infra.review.plan STACK_DIR...`` reads, in each stack directory
``make plan`` wrote, ``plan.status`` (0 no changes, 2 changes, ``deferred``),
``plan.txt`` (``terraform show``) and ``plan.json`` (``terraform show -json``),
and prints one Markdown section per stack, in the order given: the ``Plan:``
line Terraform printed and the **danger section**: every delete or replacement
of a stateful resource (the types :data:`kreo_infra.review.diff.STATEFUL_TYPES`
names), from the plan's ``resource_changes``. The deploy workflow writes it to
the plan job's summary, which is what a production approver reads before
approving (docs/operations.md, "Approving a deploy").

Exit status 0; 3 with ``--require-create-only`` when a plan does anything but
create (the first deploy's in-job plans of deferred stacks); 2 on unreadable
input.

The JSON plan format: https://developer.hashicorp.com/terraform/internals/json-format
("Plan Representation": ``resource_changes[].change.actions`` is one of
``["no-op"]``, ``["create"]``, ``["read"]``, ``["update"]``,
``["delete", "create"]``, ``["create", "delete"]``, ``["delete"]``,
``["forget"]``; ``action_reason`` says why; ``replace_paths`` which arguments
force a replacement).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kreo_infra.review.diff import STATEFUL_TYPES

EXIT_NOT_CREATE_ONLY = 3
EXIT_BAD_INPUT = 2

PLAN_TEXT_LIMIT = 60_000
"""Characters of ``terraform show`` kept per stack (its tail, where the ``Plan:`` line
is): a job summary holds at most 1 MiB per step (GitHub, "Adding a job summary":
https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#adding-a-job-summary)."""

HARMLESS_ACTIONS = {"no-op", "read", "create"}
"""Actions a first deploy may apply without a plan the approver saw: nothing existing
is changed or destroyed."""

STATUS_CHANGES = "2"
STATUS_NO_CHANGES = "0"
STATUS_DEFERRED = "deferred"
"""``plan.status``: ``terraform plan -detailed-exitcode`` (0, 2), or ``deferred`` (the
stack's plan failed after an earlier stack of the phase showed changes)."""

REASONS = {
    "replace_because_tainted": "tainted",
    "replace_because_cannot_update": "an argument cannot be updated in place",
    "replace_by_request": "-replace requested",
    "replace_by_triggers": "replace_triggered_by",
    "delete_because_no_resource_config": "removed from the configuration",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "count/for_each changed",
    "delete_because_count_index": "count index out of range",
    "delete_because_each_key": "for_each key removed",
    "delete_because_no_move_target": "moved to nowhere",
}
"""``action_reason`` values of the JSON plan format, in words (the constants of
https://github.com/hashicorp/terraform/blob/v1.15.9/internal/command/jsonplan/plan.go);
an unknown one is shown as Terraform wrote it."""


@dataclass(frozen=True)
class PlanDanger:
    """A stateful resource a saved plan deletes or replaces."""

    address: str
    type: str
    replaces: bool
    reason: str | None
    paths: tuple[str, ...]

    def __str__(self) -> str:
        verb = "replaces" if self.replaces else "removes"
        text = f"{verb} {STATEFUL_TYPES[self.type]} `{self.address}`"
        details = []
        if self.reason:
            details.append(REASONS.get(self.reason, self.reason))
        if self.paths:
            details.append("forced by " + ", ".join(f"`{p}`" for p in self.paths))
        return f"{text} ({'; '.join(details)})" if details else text


def _managed_changes(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in plan.get("resource_changes") or [] if c.get("mode", "managed") == "managed"]


def _path(steps: Sequence[Any]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def plan_dangers(plan: Mapping[str, Any]) -> list[PlanDanger]:
    """Every delete or replacement of a stateful resource in a JSON plan, in plan order.

    A ``forget`` (a ``removed`` block with ``destroy = false``) leaves the object in
    AWS and is not one; deposed objects being deleted are (their data goes too)."""
    found = []
    for change in _managed_changes(plan):
        actions = list(change.get("change", {}).get("actions") or [])
        if "delete" not in actions or change.get("type") not in STATEFUL_TYPES:
            continue
        address = change.get("address", "?")
        if change.get("deposed"):
            address = f"{address} (deposed {change['deposed']})"
        paths = tuple(_path(p) for p in change.get("change", {}).get("replace_paths") or [])
        found.append(
            PlanDanger(
                address=address,
                type=change["type"],
                replaces="create" in actions,
                reason=change.get("action_reason"),
                paths=paths,
            )
        )
    return found


def not_create_only(plan: Mapping[str, Any]) -> list[str]:
    """The addresses a plan changes, replaces or deletes (empty: it only creates)."""
    return [
        f"{c.get('address', '?')}: {'/'.join(c['change']['actions'])}"
        for c in _managed_changes(plan)
        if not set(c.get("change", {}).get("actions") or []) <= HARMLESS_ACTIONS
    ]


def plan_line(plan_text: str) -> str | None:
    """Terraform's own ``Plan: n to add, n to change, n to destroy.`` line, if any."""
    for line in reversed(plan_text.splitlines()):
        if line.startswith("Plan:"):
            return line.strip()
    return None


def stack_section(stack: str, directory: Path) -> list[str]:
    """The Markdown lines of one stack: its ``Plan:`` line, dangers and text plan."""
    status_file = directory / "plan.status"
    status = status_file.read_text().strip() if status_file.exists() else None
    if status == STATUS_DEFERRED:
        return [
            f"- ⏸ `{stack}`: **deferred**: its plan failed after an earlier stack of the "
            "phase showed changes (it may read an output that stack creates). Nothing is "
            "applied to it in this run; the next run plans it for approval (on a first "
            "deploy, the apply job plans it and applies it only if it creates and nothing "
            "else).",
        ]
    if status == STATUS_NO_CHANGES:
        return [f"- `{stack}`: no changes"]
    if status != STATUS_CHANGES:
        raise FileNotFoundError(f"{status_file}: no plan status (run make plan first)")
    plan = json.loads((directory / "plan.json").read_text())
    text = (directory / "plan.txt").read_text()
    line = plan_line(text) or "changes to outputs only"
    lines = [f"- `{stack}`: {line}"]
    dangers = plan_dangers(plan)
    if dangers:
        lines += [f"  - ⚠ **danger**: {d}" for d in dangers]
    lines += [
        "",
        f"<details><summary>{stack}: terraform show</summary>",
        "",
        "```",
        text[-PLAN_TEXT_LIMIT:].rstrip("\n"),
        "```",
        "</details>",
        "",
    ]
    return lines


def render(title: str, directories: Sequence[Path]) -> str:
    """The summary of one phase's saved plans, the stacks in the order given."""
    sections = [(d.name, stack_section(d.name, d)) for d in directories]
    dangers = [
        (d.name, danger)
        for d in directories
        if (d / "plan.status").read_text().strip() == STATUS_CHANGES
        for danger in plan_dangers(json.loads((d / "plan.json").read_text()))
    ]
    lines = [f"### {title}", ""]
    if dangers:
        lines += ["#### ⚠ Danger: data can be lost", ""]
        lines += [f"- `{stack}`: {danger}" for stack, danger in dangers]
        lines += [
            "",
            "Approve only if the pull request meant it (its `danger-approved` label) and "
            "docs/runbooks/disaster-recovery.md is at hand.",
            "",
        ]
    else:
        lines += ["No stateful resource is removed or replaced.", ""]
    for _, section in sections:
        lines += section
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kreo_infra.review.plan", description=__doc__)
    parser.add_argument("directories", nargs="+", type=Path, help="stack directories, in order")
    parser.add_argument("--title", default="terraform plan")
    parser.add_argument(
        "--require-create-only",
        action="store_true",
        help="exit 3 when a plan changes, replaces or deletes anything (prints nothing else)",
    )
    args = parser.parse_args(argv)
    try:
        if args.require_create_only:
            offending = []
            for directory in args.directories:
                plan = json.loads((directory / "plan.json").read_text())
                offending += [f"{directory.name}: {o}" for o in not_create_only(plan)]
            for line in offending:
                print(f"not a create: {line}", file=sys.stderr)
            return EXIT_NOT_CREATE_ONLY if offending else 0
        sys.stdout.write(render(args.title, args.directories))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
