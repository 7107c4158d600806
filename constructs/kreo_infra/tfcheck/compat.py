"""One explicit transform: a stack written for AWS provider 6.x, checked with 5.x.

The project synthesizes for the pinned 6.x provider (config ``versions.providers.aws``)
and keeps doing so. Where only a 5.x plugin is at hand (this machine's offline
mirror holds 5.100.0), the harness checks a *copy* of each stack after this
transform, and reports every change it made, because each is something the
check then does not cover:

* **per-resource ``region``** (new in 6.0: "Enhanced Region Support") becomes an
  aliased provider for that region, a copy of the provider the resource would
  have used. Equivalent in what gets created; what is unchecked is 6.x's own
  handling of the argument.
* **arguments that exist only in 6.x** (:data:`SIX_ONLY_ARGUMENTS`) are dropped.
  What they do is not checked by the 5.x provider; each one has its own
  property test on the synthesized JSON instead.

The provider version constraint is set to the plugin's version. Anything else
the 5.x provider rejects is a real finding, not something to transform away.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

SIX_ONLY_ARGUMENTS: dict[str, tuple[str, ...]] = {
    # provider 6.1: EKS cluster deletion protection (tests/kreo_infra/stacks/test_cluster.py
    # asserts it is set). 5.100's aws_eks_cluster has no such argument.
    "aws_eks_cluster": ("deletion_protection",),
    # provider 6.x: RDS Proxy end-to-end IAM authentication (tests/kreo_infra/stacks/
    # test_data.py asserts it). 5.100's aws_db_proxy has no such argument and
    # requires an ``auth`` block instead: see PLACEHOLDER_BLOCKS.
    "aws_db_proxy": ("default_auth_scheme",),
    # provider 6.x: node auto repair's limits (tests/kreo_infra/cluster/test_constructs.py
    # asserts them). 5.100's node_repair_config has only ``enabled``.
    "aws_eks_node_group": (
        "node_repair_config.max_parallel_nodes_repaired_count",
        "node_repair_config.max_unhealthy_node_threshold_count",
    ),
}
"""Resource type → arguments (``block.argument`` inside a nested block) that provider
6.x added and 5.x rejects."""


def _drop(body: dict[str, Any], path: str) -> bool:
    """Remove ``path`` (``argument`` or ``block.argument``) from ``body``; whether it was there."""
    head, _, rest = path.partition(".")
    if not rest:
        return body.pop(head, None) is not None
    nested = body.get(head)
    blocks = nested if isinstance(nested, list) else [nested] if isinstance(nested, dict) else []
    return any([_drop(block, rest) for block in blocks])


PLACEHOLDER_BLOCKS: dict[str, tuple[str, dict[str, Any]]] = {
    # 5.x requires one auth block where 6.x's default_auth_scheme = "IAM_AUTH" needs none.
    "aws_db_proxy": (
        "auth",
        {
            "auth_scheme": "SECRETS",
            "iam_auth": "REQUIRED",
            "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:compat-placeholder",
        },
    ),
}
"""Resource type → (block, placeholder) added when dropping a 6.x-only argument left
a block 5.x requires missing; reported with the dropped argument."""

REGION_EXEMPT_DATA = frozenset({"aws_region"})
"""Data sources whose ``region`` argument is their own query (5.x has it too)."""


@dataclass
class CompatReport:
    """What the transform changed in one stack: what the check did not cover."""

    stack: str
    provider_version: tuple[str, str] | None = None
    """(pinned, used) when they differ."""
    regions: list[str] = field(default_factory=list)
    """``address: region`` moved to an aliased provider."""
    dropped: list[str] = field(default_factory=list)
    """``address.argument`` removed (6.x only)."""
    placeholders: list[str] = field(default_factory=list)
    """``address.block`` added because 5.x requires it where 6.x did not."""

    @property
    def changed(self) -> bool:
        return bool(self.provider_version or self.regions or self.dropped or self.placeholders)

    def lines(self) -> list[str]:
        out = []
        if self.provider_version:
            pinned, used = self.provider_version
            out.append(f"aws provider {pinned} checked with {used}")
        out += [f"per-resource region → aliased provider: {r}" for r in self.regions]
        out += [f"6.x-only argument not checked: {d}" for d in self.dropped]
        out += [f"5.x-required placeholder, not ours: {p}" for p in self.placeholders]
        return out


def _major(version: str) -> str:
    return version.lstrip("=~>< ").split(".")[0]


def needs_transform(pinned: str, available: str) -> bool:
    """Whether a stack pinned to ``pinned`` needs the transform to run on ``available``."""
    return _major(pinned) == "6" and _major(available) == "5"


def to_provider_5(stack: dict[str, Any], name: str, version: str) -> tuple[dict, CompatReport]:
    """A copy of ``stack`` the AWS provider ``version`` (5.x) accepts, and the report."""
    out = copy.deepcopy(stack)
    report = CompatReport(stack=name)
    required = out.get("terraform", {}).get("required_providers", {}).get("aws")
    if required is None:
        return out, report
    pinned = required.get("version", "")
    if pinned != version:
        required["version"] = version
        report.provider_version = (pinned, version)

    providers = out.get("provider", {}).get("aws", [])
    if isinstance(providers, dict):
        providers = [providers]
        out["provider"]["aws"] = providers
    by_alias = {p.get("alias"): p for p in providers}
    for section in ("resource", "data"):
        for rtype, items in out.get(section, {}).items():
            if not rtype.startswith("aws_"):
                continue
            prefix = "data." if section == "data" else ""
            for rname, body in items.items():
                address = f"{prefix}{rtype}.{rname}"
                if "region" in body and not (section == "data" and rtype in REGION_EXEMPT_DATA):
                    region = body.pop("region")
                    alias = body.get("provider", "aws").partition(".")[2] or None
                    base = by_alias[alias]
                    if base.get("region") != region:
                        new_alias = f"compat-{region}" if alias is None else f"{alias}-{region}"
                        if new_alias not in by_alias:
                            clone = copy.deepcopy(base)
                            clone["alias"] = new_alias
                            clone["region"] = region
                            providers.append(clone)
                            by_alias[new_alias] = clone
                        body["provider"] = f"aws.{new_alias}"
                    report.regions.append(f"{address}: {region}")
                if section == "resource":
                    for argument in SIX_ONLY_ARGUMENTS.get(rtype, ()):
                        if _drop(body, argument):
                            report.dropped.append(f"{address}.{argument}")
                            block, placeholder = PLACEHOLDER_BLOCKS.get(rtype, ("", {}))
                            if block and block not in body:
                                body[block] = [dict(placeholder)]
                                report.placeholders.append(f"{address}.{block}")
    return out, report
