"""PodIdentityRole: its trust, its default binding and its input validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.workloads import PRODUCT_SERVICE
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")
ROLE = {
    "workload": PRODUCT_SERVICE,
    "cluster_name": "c",
    "cluster_arn": "arn:aws:eks:us-east-1:123456789012:cluster/c",
    "account": ACCOUNT,
}
STATEMENT = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}


def test_pod_identity_role_needs_permissions(stack: Any) -> None:
    from kreo_infra.security.pod_identity import PodIdentityRole

    with pytest.raises(PropsError, match="give the role statements or managed policies"):
        PodIdentityRole(stack, "r", **ROLE)


def test_only_pod_identity_of_this_cluster_assumes_it(stack: Any) -> None:
    from kreo_infra.security.pod_identity import PodIdentityRole

    PodIdentityRole(stack, "r", statements=[STATEMENT], **ROLE)
    (role,) = synth_stack(stack)["resource"]["aws_iam_role"].values()
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT.account_id},
        "ArnEquals": {"aws:SourceArn": ROLE["cluster_arn"]},
    }


def test_bound_to_its_service_account_by_default(stack: Any) -> None:
    from kreo_infra.security.pod_identity import PodIdentityRole

    PodIdentityRole(stack, "r", statements=[STATEMENT], **ROLE)
    (association,) = synth_stack(stack)["resource"]["aws_eks_pod_identity_association"].values()
    assert (association["namespace"], association["service_account"]) == (
        PRODUCT_SERVICE.namespace,
        PRODUCT_SERVICE.service_account,
    )


def test_an_eks_addon_binds_its_role_itself(stack: Any) -> None:
    from kreo_infra.security.pod_identity import PodIdentityRole

    PodIdentityRole(stack, "r", managed_policies=["P"], associate=False, **ROLE)
    resources = synth_stack(stack)["resource"]
    assert "aws_eks_pod_identity_association" not in resources
    (attachment,) = resources["aws_iam_role_policy_attachment"].values()
    assert attachment["policy_arn"] == "arn:aws:iam::aws:policy/P"
