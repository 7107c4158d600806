"""Run checkov on synthesized stacks and decide which failures block a change."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
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


def _stack_files(stacks_dir: Path) -> list[Path]:
    stack_files = sorted(stacks_dir.glob("*/cdk.tf.json"))
    if not stack_files:
        raise FileNotFoundError(f"no synthesized stacks in {stacks_dir}")
    return stack_files


def _write_stacks(stack_files: list[Path], root: Path) -> None:
    """Each stack as checkov reads it, at ``<root>/<stack>/cdk.tf.json``."""
    for stack_file in stack_files:
        target = root / stack_file.parent.name / stack_file.name
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(_checkov_input(stack_file), indent=2), encoding="utf-8")


def run_checkov(stacks_dir: Path, *, timeout: int = 600) -> CheckovRun:
    """Run checkov once over every ``<stacks_dir>/<stack>/cdk.tf.json``, offline."""
    stack_files = _stack_files(stacks_dir)
    with tempfile.TemporaryDirectory(prefix="kreo-checkov-") as scratch:
        _write_stacks(stack_files, Path(scratch))
        report = _checkov(["--directory", scratch, "--framework", "terraform_json"], timeout)
    return _parse_report(report, [f.parent.name for f in stack_files])


@dataclass(frozen=True)
class FileReport:
    """checkov's verdicts on one non-Terraform input: failed checks, passed count,
    files it could not parse."""

    failed: list[str]
    passed: int
    parsing_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyScan:
    """checkov over every input of a session: the synthesized stacks
    (terraform_json), rendered chart manifests (kubernetes) and the workflows
    (github_actions), in as few processes as the checks allow (``scan``)."""

    stacks: CheckovRun
    manifests: dict[str, FileReport]
    workflows: FileReport


def scan(
    stacks_dir: Path,
    manifests: Mapping[str, Mapping[str, str]],
    workflows_dir: Path,
    *,
    timeout: int = 900,
) -> PolicyScan:
    """Run checkov over the stacks, the manifests and the GitHub workflows, offline.

    ``manifests`` maps a group (one environment: what one cluster runs) to
    ``label -> YAML text``; a label is a path fragment such as
    ``kreo-marketplace/production``. checkov builds one Kubernetes graph per
    process, and its connection checks (CKV2_K8S_*: a pod's NetworkPolicy, RBAC
    bindings) match objects of every file in it, so one environment's
    NetworkPolicy would satisfy another's pods. Each group therefore gets its own
    process; the first shares the stacks' and the workflows' process. checkov's
    start-up (~2,000 checks, ~5 s) is paid once per group, not once per input.
    """
    stack_files = _stack_files(stacks_dir)
    groups = list(manifests.values()) or [{}]
    labels = [label for group in groups for label in group]
    if len(labels) != len(set(labels)):
        raise ValueError("manifest labels must be unique across groups")
    with tempfile.TemporaryDirectory(prefix="kreo-checkov-") as scratch:
        roots = [Path(scratch, f"group-{index}") for index in range(len(groups))]
        _write_stacks(stack_files, roots[0] / "stacks")
        # The github_actions runner reads workflow files under .github/workflows only.
        workflows = roots[0] / ".github" / "workflows"
        workflows.mkdir(parents=True)
        for workflow in sorted(workflows_dir.glob("*.y*ml")):
            (workflows / workflow.name).write_bytes(workflow.read_bytes())
        for root, group in zip(roots, groups, strict=True):
            for label, text in group.items():
                target = root / "manifests" / label / "rendered.yaml"
                target.parent.mkdir(parents=True)
                target.write_text(text, encoding="utf-8")
        calls = [["--directory", str(roots[0]), "--framework", "terraform_json",
                  "kubernetes", "github_actions"]]  # fmt: skip
        calls += [["--directory", str(root), "--framework", "kubernetes"] for root in roots[1:]]
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            reports = list(pool.map(lambda arguments: _checkov(arguments, timeout), calls))
    parts = [
        part for report in reports for part in (report if isinstance(report, list) else [report])
    ]
    return parse_scan(parts, [f.parent.name for f in stack_files], labels)


def parse_scan(report: Any, stack_names: list[str], labels: list[str]) -> PolicyScan:
    """The per-input verdicts of ``scan``'s reports (checkov's JSON: one part per
    framework and process; parts of the same framework are merged)."""
    parts = report if isinstance(report, list) else [report]
    by_type: dict[str, dict[str, list[Any]]] = {}
    for part in parts:
        if "results" not in part:  # a bare summary: nothing of that framework scanned
            continue
        merged = by_type.setdefault(part.get("check_type"), {})
        for key in ("passed_checks", "failed_checks", "parsing_errors"):
            merged.setdefault(key, []).extend(part["results"].get(key, []))
    missing = {"terraform_json", "github_actions"} - set(by_type)
    if labels:
        missing |= {"kubernetes"} - set(by_type)
    if missing:
        raise RuntimeError(f"checkov reported nothing for {', '.join(sorted(missing))}")
    stacks = _parse_report({"results": _under("stacks", by_type["terraform_json"])}, stack_names)
    kubernetes = by_type.get("kubernetes", {})
    manifests = {}
    for label in labels:
        results = _under(f"manifests/{label}", kubernetes)
        manifests[label] = FileReport(
            failed=[f"{c['check_id']} on {c['resource']}" for c in results["failed_checks"]],
            passed=len(results["passed_checks"]),
            parsing_errors=results["parsing_errors"],
        )
    actions = by_type["github_actions"]
    workflows = FileReport(
        failed=[
            f"{c['check_id']} on {Path(c['file_path']).name}: {c['resource']}"
            for c in actions.get("failed_checks", [])
        ],
        passed=len(actions.get("passed_checks", [])),
        parsing_errors=list(actions.get("parsing_errors", [])),
    )
    return PolicyScan(stacks=stacks, manifests=manifests, workflows=workflows)


def _under(prefix: str, results: Mapping[str, Any]) -> dict[str, Any]:
    """The checks of ``results`` on files below ``prefix``, paths made relative to it."""
    selected: dict[str, Any] = {"parsing_errors": [], "passed_checks": [], "failed_checks": []}
    for key in selected:
        for item in results.get(key, []):
            path = (item if key == "parsing_errors" else item["file_path"]).lstrip("/")
            if path.startswith(f"{prefix}/") or f"/{prefix}/" in f"/{path}":
                relative = path.split(f"{prefix}/", 1)[1]
                if key == "parsing_errors":
                    selected[key].append(relative)
                else:
                    selected[key].append({**item, "file_path": relative})
    return selected


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
