"""Renovate's reading of this repository, checked against every pin it holds.

``make renovate-check`` runs Renovate on the local platform (``--dry-run=extract``:
this working tree, no token, no network) and hands the report to this module,
which

* fails when a pin :func:`kreo_infra.review.versions.collect` finds is not
  extracted by any manager with exactly the version (or commit) it is set to, unless
  it is in :data:`EXEMPT` with the reason it is left out;
* writes ``tests/renovate/extract.json``: every extracted dependency, once per file,
  without versions (a version bump does not make it stale), for
  ``tools/renovate/rules.mjs`` to add what renovate.json5's rules resolve to and for
  ``make test`` (tests/kreo_infra/review/test_renovate.py) to check.

``python -m kreo_infra.review.renovate --report <renovate report> --out <extract.json>``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from kreo_infra.review.versions import Pin, collect

EXEMPT: dict[str, str] = {
    "versions.terraform": (
        "a range of Terraform versions the stacks accept (required_version), not a pin; "
        "the workflows' TERRAFORM_VERSION is the pin Renovate moves"
    ),
    "cluster.addons.": (
        "EKS add-on builds: Renovate's aws-eks-addon datasource needs AWS credentials; "
        "`make preflight` (addon-versions) names the newest build EKS offers for the "
        "cluster's Kubernetes minor, and a Kubernetes minor moves them all (docs/operations.md)"
    ),
    "database.engine_version": (
        "PostgreSQL major only: RDS applies minor versions itself (auto_minor_version_upgrade); "
        "a major upgrade is a planned operation (docs/operations.md)"
    ),
    "cache.engine_version": (
        "ElastiCache (Valkey) engine: an in-place AWS upgrade planned by hand (docs/operations.md)"
    ),
    "search.engine_version": (
        "OpenSearch engine: an in-place AWS upgrade with a blue/green deployment, planned by hand"
    ),
}
"""Pins no Renovate manager moves, by locator (prefix), each with the reason."""

DEP_NAMES: dict[str, str] = {"kubernetes": "amazon-eks"}
"""Where Renovate's dependency name differs from the pin's package name."""


def exemption(pin: Pin) -> str | None:
    """The reason ``pin`` is left to something other than Renovate, or None."""
    for key, reason in EXEMPT.items():
        if pin.locator == key or (key.endswith(".") and pin.locator.startswith(key)):
            return reason
    return None


def report_deps(report: dict) -> list[dict]:
    """Every dependency of a Renovate ``--report-type=file`` report, with its file and manager."""
    deps = []
    for repository in report.get("repositories", {}).values():
        for manager, package_files in repository.get("packageFiles", {}).items():
            for package_file in package_files:
                for dep in package_file.get("deps", []):
                    deps.append({**dep, "manager": manager, "file": package_file["packageFile"]})
    return deps


def _value(text: str | None) -> str:
    return (text or "").removeprefix("==")


def _name(pin: Pin) -> str:
    return DEP_NAMES.get(pin.package, pin.package)


def uncovered(pins: Iterable[Pin], deps: list[dict], *, versions: bool = True) -> list[str]:
    """The pins no extracted dependency matches (file and name; with ``versions``, also
    the exact version or commit), as messages; exempt pins are skipped."""
    missing = []
    for pin in pins:
        if exemption(pin):
            continue
        candidates = [
            d
            for d in deps
            if d["file"] == pin.file and _name(pin) in (d.get("depName"), d.get("packageName"))
        ]
        if versions:
            # A pin with a commit or digest is matched by it: the version beside it
            # (an action's comment) is only what Renovate writes next to it.
            candidates = [
                d
                for d in candidates
                if (
                    d.get("currentDigest") == pin.digest
                    if pin.digest
                    else _value(d.get("currentValue")) == pin.version
                )
            ]
        if not candidates:
            what = f"{pin.version}" + (f" ({pin.digest[:12]})" if pin.digest else "")
            missing.append(
                f"{pin.file}: {pin.locator} = {what} ({pin.component}) is not extracted by any "
                "Renovate manager; add a manager in renovate.json5 or an EXEMPT reason in "
                "kreo_infra.review.renovate"
            )
    return missing


def normalize(deps: list[dict]) -> list[dict]:
    """The extract as committed: one entry per (file, manager, name, datasource, type),
    without versions, sorted."""
    seen = {}
    for dep in deps:
        entry = {
            "file": dep["file"],
            "manager": dep["manager"],
            "depName": dep.get("depName"),
            "packageName": dep.get("packageName") or dep.get("depName"),
            "datasource": dep.get("datasource"),
            "depType": dep.get("depType"),
            "skipReason": dep.get("skipReason")
            if dep.get("skipReason") != "github-token-required"
            else None,
        }
        key = tuple(str(entry[k]) for k in entry)
        seen[key] = entry
    return [seen[key] for key in sorted(seen)]


def resolved_config(log: str) -> dict | None:
    """The repository config Renovate resolved (``--print-config``, ``LOG_FORMAT=json``):
    the global configuration and renovate.json5 merged; None when the log has none."""
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if str(record.get("msg", "")).startswith("Full resolved config"):
            return record.get("config")
    return None


def post_upgrade_problems(config: dict | None, root: Path) -> list[str]:
    """What is wrong with the post-upgrade task a Renovate branch would run: it must be
    exactly main's ``make -f <root>/Makefile renovate-artifacts``, once per branch."""
    if config is None:
        return ["Renovate printed no resolved config (--print-config)"]
    tasks = config.get("postUpgradeTasks") or {}
    expected = [f"make -f {root.resolve() / 'Makefile'} renovate-artifacts"]
    problems = []
    if tasks.get("commands") != expected:
        problems.append(
            f"the resolved postUpgradeTasks.commands are {tasks.get('commands')!r}, not "
            f"{expected!r} (tools/renovate/config.cjs)"
        )
    if tasks.get("executionMode") != "branch":
        problems.append("the post-upgrade task must run once per branch (executionMode)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kreo_infra.review.renovate", description=__doc__
    )
    parser.add_argument("--report", type=Path, required=True, help="Renovate's extract report")
    parser.add_argument("--out", type=Path, required=True, help="the committed extract to write")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    parser.add_argument(
        "--log", type=Path, help="Renovate's JSON log of the same run, with --print-config"
    )
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    problems = [p.get("msg", str(p)) for p in report.get("problems", []) if p.get("level", 0) >= 40]
    if args.log is not None:
        problems += post_upgrade_problems(resolved_config(args.log.read_text()), args.root)
    deps = report_deps(report)
    missing = uncovered(collect(args.root), deps)
    for message in problems + missing:
        print(f"renovate-check: {message}", file=sys.stderr)
    if problems or missing:
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    rules = {
        (d["file"], d["manager"], d["depName"], d["datasource"], d["depType"]): d.get("rules")
        for d in previous.get("deps", [])
    }
    entries = normalize(deps)
    for entry in entries:
        # rules.mjs rewrites them next; kept meanwhile so an unchanged file stays unchanged.
        key = (
            entry["file"],
            entry["manager"],
            entry["depName"],
            entry["datasource"],
            entry["depType"],
        )
        if rules.get(key) is not None:
            entry["rules"] = rules[key]
    document = {"generated_by": "make renovate-check", "deps": entries}
    document |= {k: previous[k] for k in ("settings", "global") if k in previous}
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"renovate-check: {len(entries)} dependencies extracted; every pin covered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
