"""Stateful resources are protected; every resource type is classified.

A new resource type fails ``test_every_resource_type_is_classified`` until it is
added below, as stateful (with the protection it must carry) or stateless (can
be recreated without losing anything).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import Synthesis, iter_resources

STATEFUL: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "aws_eks_cluster": (
        "deletion protection on",
        lambda r: r.get("deletion_protection") is True,
    ),
    "aws_ecr_repository": (
        "never force-deleted with its images",
        lambda r: r.get("force_delete") is False,
    ),
    "aws_kms_key": (
        "30-day deletion window, rotation on (data encrypted with it is lost with it)",
        lambda r: r.get("deletion_window_in_days") == 30 and r.get("enable_key_rotation") is True,
    ),
    "aws_cloudwatch_log_group": (
        "retention set and KMS-encrypted (audit and flow logs)",
        lambda r: r.get("retention_in_days", 0) > 0 and bool(r.get("kms_key_id")),
    ),
}

STATELESS = {
    # Recreated from configuration without losing anything.
    "aws_default_security_group", "aws_ecr_lifecycle_policy", "aws_eip",
    "aws_eks_access_entry", "aws_eks_access_policy_association", "aws_eks_addon",
    "aws_eks_node_group", "aws_eks_pod_identity_association", "aws_flow_log",
    "aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment",
    "aws_internet_gateway", "aws_kms_alias", "aws_launch_template", "aws_nat_gateway",
    "aws_resourcegroups_group", "aws_route", "aws_route_table",
    "aws_route_table_association", "aws_security_group", "aws_subnet", "aws_vpc",
    "aws_vpc_endpoint", "aws_vpc_security_group_ingress_rule",
}  # fmt: skip


def test_every_resource_type_is_classified(synthesis: Synthesis) -> None:
    found = {
        kind
        for name in synthesis.stack_names
        for kind, _, _ in iter_resources(synthesis.stack(name))
    }
    assert not set(STATEFUL) & STATELESS
    assert sorted(found - set(STATEFUL) - STATELESS) == []


def test_every_stateful_resource_is_protected(synthesis: Synthesis) -> None:
    checked = 0
    unprotected = []
    for name in synthesis.stack_names:
        for kind, resource, body in iter_resources(synthesis.stack(name)):
            if kind in STATEFUL:
                checked += 1
                requirement, is_protected = STATEFUL[kind]
                if not is_protected(body):
                    unprotected.append(f"{name}/{kind}.{resource}: needs {requirement}")
    assert checked > 0
    assert unprotected == []
