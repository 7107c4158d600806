"""BoundaryAspect: every IAM role of a stack carries the pipeline's boundary."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import synth_stack

BOUNDARY = "arn:aws:iam::123456789012:policy/kreo-pipeline-boundary"
TRUST = '{"Version":"2012-10-17","Statement":[]}'


def test_sets_the_boundary_except_on_exempt_roles(stack: Any) -> None:
    from cdktf import Aspects
    from cdktf_cdktf_provider_aws.iam_role import IamRole

    from kreo_infra.aspects.boundary import BoundaryAspect

    IamRole(stack, "a", name="a", assume_role_policy=TRUST)
    IamRole(stack, "b", name="b", assume_role_policy=TRUST)
    Aspects.of(stack).add(BoundaryAspect(BOUNDARY, exempt_roles=["b"]))
    roles = {r["name"]: r for r in synth_stack(stack)["resource"]["aws_iam_role"].values()}
    assert roles["a"]["permissions_boundary"] == BOUNDARY
    assert "permissions_boundary" not in roles["b"]


def test_refuses_another_boundary(stack: Any) -> None:
    from cdktf import Aspects
    from cdktf_cdktf_provider_aws.iam_role import IamRole

    from kreo_infra.aspects.boundary import BoundaryAspect

    IamRole(stack, "a", name="a", assume_role_policy=TRUST, permissions_boundary="arn:other")
    Aspects.of(stack).add(BoundaryAspect(BOUNDARY))
    with pytest.raises(Exception, match="is not"):
        synth_stack(stack)
