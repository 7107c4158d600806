"""Run checkov on synthesized stacks and decide which failures block a change."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Skip:
    """A reviewed exception: ``check`` may fail on matching resources of matching stacks.

    ``resource`` and ``stack`` are globs over checkov's resource name and the
    stack name; both default to everything. For cdktf output checkov names a
    resource ``resource.<cdktf unique id>`` (the construct path joined by ``_``
    plus a hash), e.g. ``resource.flow-logs_log-group_*``.
    """

    check: str
    reason: str
    resource: str = "*"
    stack: str = "*"

    def covers(self, finding: Finding) -> bool:
        return (
            finding.check_id == self.check
            and fnmatch.fnmatchcase(finding.resource, self.resource)
            and fnmatch.fnmatchcase(finding.stack, self.stack)
        )


@dataclass(frozen=True)
class Finding:
    """One failed checkov check on one resource of one stack."""

    stack: str
    check_id: str
    resource: str
    name: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.check_id} on {self.resource}: {self.name}"


@dataclass
class StackReport:
    """checkov's verdicts for one stack."""

    passed: list[str] = field(default_factory=list)
    failed: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class CheckovRun:
    """The per-stack reports of one checkov run, and the files it could not parse."""

    stacks: dict[str, StackReport]
    parsing_errors: list[str]


def load_skips(path: Path) -> list[Skip]:
    """The reviewed skip list; each entry needs a check id and a one-line reason."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    skips = []
    for index, entry in enumerate(data.get("skips") or []):
        reason = str(entry.get("reason", "")).strip()
        if not entry.get("check") or not reason or "\n" in reason:
            raise ValueError(f"{path}: skips[{index}] needs a check and a one-line reason")
        skips.append(
            Skip(
                check=entry["check"],
                reason=reason,
                resource=entry.get("resource", "*"),
                stack=entry.get("stack", "*"),
            )
        )
    return skips


def blocking(findings: Iterable[Finding], skips: Iterable[Skip]) -> list[Finding]:
    """The findings no skip covers: each one fails the policy gate."""
    skip_list = list(skips)
    return [f for f in findings if not any(s.covers(f) for s in skip_list)]


def unused(skips: Iterable[Skip], findings: Iterable[Finding]) -> list[Skip]:
    """Skips that cover no finding: stale entries to delete from the list."""
    finding_list = list(findings)
    return [s for s in skips if not any(s.covers(f) for f in finding_list)]


def _checkov_input(stack_file: Path) -> dict[str, Any]:
    template = json.loads(stack_file.read_text(encoding="utf-8"))
    # checkov's terraform_json parser crashes on a string terraform.required_version
    # (bridgecrewio/checkov#7454, fix pending in #7467). The key carries no security
    # meaning, so checkov sees the stack without it. Delete when the fix is released.
    template.get("terraform", {}).pop("required_version", None)
    return template


def run_checkov(stacks_dir: Path, *, timeout: int = 600) -> CheckovRun:
    """Run checkov once over every ``<stacks_dir>/<stack>/cdk.tf.json``, offline."""
    stack_files = sorted(stacks_dir.glob("*/cdk.tf.json"))
    if not stack_files:
        raise FileNotFoundError(f"no synthesized stacks in {stacks_dir}")
    with tempfile.TemporaryDirectory(prefix="kreo-checkov-") as scratch:
        for stack_file in stack_files:
            target = Path(scratch, stack_file.parent.name, stack_file.name)
            target.parent.mkdir()
            target.write_text(json.dumps(_checkov_input(stack_file), indent=2), encoding="utf-8")
        report = _checkov(["--directory", scratch, "--framework", "terraform_json"], timeout)
    return _parse_report(report, [f.parent.name for f in stack_files])


def run_checkov_kubernetes(manifests: Path, *, timeout: int = 300) -> tuple[list[str], int]:
    """checkov's Kubernetes checks on rendered manifests: (failed check ids, passed count)."""
    report = _checkov(["--file", str(manifests), "--framework", "kubernetes"], timeout)
    parts = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} on {c['resource']}"
        for part in parts
        for c in part.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(len(part.get("results", {}).get("passed_checks", [])) for part in parts)
    return failed, passed


def run_checkov_github_actions(workflows: Path, *, timeout: int = 300) -> tuple[list[str], int]:
    """checkov's GitHub Actions checks on a workflows directory: (failed, passed count)."""
    report = _checkov(["--directory", str(workflows), "--framework", "github_actions"], timeout)
    parts = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} on {c['file_path']}: {c['resource']}"
        for part in parts
        for c in part.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(len(part.get("results", {}).get("passed_checks", [])) for part in parts)
    return failed, passed


def _checkov(arguments: list[str], timeout: int) -> Any:
    checkov = Path(sys.executable).with_name("checkov")
    completed = subprocess.run(  # noqa: S603 - our own venv's checkov, fixed arguments
        [str(checkov), *arguments, "--output", "json", "--skip-download", "--soft-fail"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        # Offline: no update check against the package index.
        env={**os.environ, "LOG_LEVEL": "ERROR", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"checkov exited {completed.returncode}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def _stack_of(file_path: str) -> str:
    return Path(file_path.lstrip("/")).parts[0]


def _parse_report(report: Mapping[str, Any] | list[Any], stacks: list[str]) -> CheckovRun:
    reports = report if isinstance(report, list) else [report]
    by_stack = {name: StackReport() for name in stacks}
    parsing_errors: list[str] = []
    for part in reports:
        if "results" not in part:  # checkov prints a bare summary when nothing was scanned
            continue
        results = part["results"]
        parsing_errors.extend(results.get("parsing_errors", []))
        for check in results.get("passed_checks", []):
            by_stack[_stack_of(check["file_path"])].passed.append(check["check_id"])
        for check in results.get("failed_checks", []):
            stack = _stack_of(check["file_path"])
            by_stack[stack].failed.append(
                Finding(stack, check["check_id"], check["resource"], check.get("check_name", ""))
            )
    return CheckovRun(stacks=by_stack, parsing_errors=parsing_errors)
