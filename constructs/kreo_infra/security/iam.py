"""IAM policy documents as data: one place for their JSON shape."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Statement = Mapping[str, Any]


def policy_document(statements: Sequence[Statement]) -> str:
    """A policy document (JSON) from statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(
    service: str,
    *,
    actions: Sequence[str] = ("sts:AssumeRole",),
    conditions: Mapping[str, Any] | None = None,
) -> str:
    """A trust policy letting AWS service ``service`` assume the role."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": list(actions) if len(actions) > 1 else actions[0],
    }
    if conditions:
        statement["Condition"] = dict(conditions)
    return policy_document([statement])


def aws_managed_policy(partition: str, name: str) -> str:
    """The ARN of AWS-managed policy ``name`` (e.g. ``AmazonEKSClusterPolicy``)."""
    return f"arn:{partition}:iam::aws:policy/{name}"
