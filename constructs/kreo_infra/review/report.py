"""The Markdown report: per environment the stacks, key settings and security
posture; with a base output, the changes and the danger section."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kreo_infra.config.eks import EKS_STANDARD_SUPPORT
from kreo_infra.review.diff import ChangeReport, _short
from kreo_infra.review.output import SynthOutput

if TYPE_CHECKING:
    from kreo_infra.policy.checkov import CheckovRun

Progress = Callable[[str], None]


def _first(output: SynthOutput, stack: str, resource_type: str) -> dict[str, Any] | None:
    for (kind, _), resource in sorted(output.resources(stack).items()):
        if kind == resource_type:
            return resource.config
    return None


def _all(output: SynthOutput, stack: str, resource_type: str) -> list[dict[str, Any]]:
    return [r.config for (k, _), r in sorted(output.resources(stack).items()) if k == resource_type]


def key_settings(output: SynthOutput, environment: str, stacks: list[str]) -> list[tuple[str, str]]:
    """The figures a reviewer checks first, read from the synthesized stacks."""
    by_layer = {name.removeprefix(f"kreo-{environment}-"): name for name in stacks}
    rows: list[tuple[str, str]] = []
    if cluster := by_layer.get("cluster"):
        eks = _first(output, cluster, "aws_eks_cluster") or {}
        version = str(eks.get("version", "—"))
        end = EKS_STANDARD_SUPPORT.get(version)
        support = f" (EKS standard support until {end})" if end else ""
        rows.append(("Kubernetes version", f"{version}{support}"))
        for group in _all(output, cluster, "aws_eks_node_group"):
            scaling = group.get("scaling_config", {})
            rows.append(
                (
                    f"node group `{group.get('node_group_name', '?')}`",
                    f"{', '.join(group.get('instance_types', []) or ['launch template'])}, "
                    f"{scaling.get('min_size')} to {scaling.get('max_size')} nodes "
                    f"(desired {scaling.get('desired_size')})",
                )
            )
    if data := by_layer.get("data"):
        instances = _all(output, data, "aws_db_instance")
        primary = next((i for i in instances if "replicate_source_db" not in i), {})
        replicas = len(instances) - 1 if primary else 0
        rows.append(
            (
                "PostgreSQL",
                f"{primary.get('engine', '?')} {primary.get('engine_version', '?')}, "
                f"{primary.get('instance_class', '?')}, multi-AZ {primary.get('multi_az')}, "
                f"{replicas} read replica(s), "
                f"backups {primary.get('backup_retention_period')} days",
            )
        )
        cache = _first(output, data, "aws_elasticache_replication_group") or {}
        rows.append(
            (
                "Cache",
                f"{cache.get('engine', '?')} {cache.get('engine_version', '?')}, "
                f"{cache.get('num_cache_clusters', '?')} x {cache.get('node_type', '?')}",
            )
        )
        search = _first(output, data, "aws_opensearch_domain") or {}
        cluster_config = search.get("cluster_config", {})
        rows.append(
            (
                "OpenSearch",
                f"{search.get('engine_version', '?')}, "
                f"{cluster_config.get('instance_count', '?')} x "
                f"{cluster_config.get('instance_type', '?')}",
            )
        )
    for layer in ("platform", "app"):
        if stack := by_layer.get(layer):
            for release in _all(output, stack, "helm_release"):
                version = release.get("version") or "local chart"
                rows.append((f"chart `{release.get('name')}`", f"{release.get('chart')} {version}"
                             if release.get("version") else version))  # fmt: skip
    if app := by_layer.get("app"):
        for release in _all(output, app, "helm_release"):
            values = yaml.safe_load(release["values"][0]) if release.get("values") else {}
            tags = sorted({s["image"]["tag"] for s in values.get("services", {}).values()})
            rows.append(("image tags", ", ".join(tags)))
    if observability := by_layer.get("observability"):
        rows.append(
            ("alarms", str(len(_all(output, observability, "aws_cloudwatch_metric_alarm"))))
        )
    return rows


def security_posture(
    output: SynthOutput, skips_file: Path, progress: Progress
) -> dict[str, tuple[int, int, int]]:
    """checkov per stack: (passed, failed, skipped by the reviewed list)."""
    from kreo_infra.policy.checkov import run_checkov

    progress(f"checkov: {len(output.stack_names)} stacks")
    return posture_of(run_checkov(output.root / "stacks"), skips_file)


def posture_of(run: CheckovRun, skips_file: Path) -> dict[str, tuple[int, int, int]]:
    """(passed, failed, skipped) per stack of one checkov run, skips from ``skips_file``."""
    from kreo_infra.policy.checkov import blocking, load_skips

    skips = load_skips(skips_file)
    posture = {}
    for name, stack in run.stacks.items():
        failed = blocking(stack.failed, skips)
        posture[name] = (len(stack.passed), len(failed), len(stack.failed) - len(failed))
    return posture


def render(
    output: SynthOutput,
    *,
    posture: dict[str, tuple[int, int, int]] | None,
    changes: ChangeReport | None,
    progress: Progress,
    only: str | None = None,
) -> str:
    """The report; ``only`` keeps one environment (and the account's stacks)."""
    lines = ["# Synth report", ""]
    if changes is not None:
        lines += render_changes(changes)
    for environment, stacks in output.environments().items():
        if only is not None and environment not in (only, "account"):
            continue
        lines += [
            f"## {environment}",
            "",
            "| stack | resources | by type |",
            "| --- | ---: | --- |",
        ]
        for stack in stacks:
            progress(f"summarizing {stack}")
            counts = output.counts(stack)
            by_type = ", ".join(f"{t} {n}" for t, n in sorted(counts.items()))
            lines.append(f"| `{stack}` | {sum(counts.values())} | {by_type} |")
        lines.append("")
        if environment != "account":
            lines += ["| setting | value |", "| --- | --- |"]
            lines += [f"| {k} | {v} |" for k, v in key_settings(output, environment, stacks)]
            lines.append("")
        if posture is not None:
            lines += [
                "| stack | checkov passed | failed | skipped (reviewed) |",
                "| --- | ---: | ---: | ---: |",
            ]
            for stack in stacks:
                passed, failed, skipped = posture.get(stack, (0, 0, 0))
                lines.append(f"| `{stack}` | {passed} | {failed} | {skipped} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def render_changes(changes: ChangeReport) -> list[str]:
    lines = ["## Changes", ""]
    dangers = changes.dangers
    if dangers:
        lines += ["### ⚠ Danger: data can be lost", ""]
        lines += [f"- {d}" for d in dangers]
        lines += ["", "These need an explicit approval (exit status 3).", ""]
    if changes.empty:
        return [*lines, "No changes.", ""]
    for stack in changes.stacks_added:
        lines.append(f"- stack added: `{stack}`")
    for stack in changes.stacks_removed:
        lines.append(f"- stack removed: `{stack}`")
    for resource in changes.added:
        lines.append(f"- added `{resource.address}`")
    for resource in changes.removed:
        lines.append(f"- removed `{resource.address}`")
    for change in changes.changed:
        lines.append(f"- changed `{change.resource.address}`")
        for attribute in change.attributes:
            lines.append(
                f"  - `{attribute.path}`: {_short(attribute.before)} → {_short(attribute.after)}"
            )
    return [*lines, ""]
