"""The cluster's own workloads' permission statements: scoped to this cluster.

The Helm add-ons' statements are tested with their add-on (tests/kreo_infra/platform/addons/).
"""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.cluster import policies
from tests.statements import actions, resources

CLUSTER = "kreo-test"
SCOPE = {"partition": "aws", "region": "eu-west-1", "account_id": "123456789012"}
KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"


# --- EBS CSI driver ------------------------------------------------------------------------------


@pytest.fixture
def ebs() -> list[dict[str, Any]]:
    return policies.ebs_csi_driver(**SCOPE, cluster_name=CLUSTER, key_arn=KEY)


READS = ("Describe",)


def test_ebs_writes_need_this_clusters_tag(ebs: list[dict[str, Any]]) -> None:
    """Every EC2 write is conditioned on ``kubernetes.io/cluster/<name>=owned``
    (on the request when creating, on the resource otherwise), except tagging
    inside the create call itself."""
    tag = f"kubernetes.io/cluster/{CLUSTER}"
    for statement in ebs:
        ec2_writes = [
            a
            for a in actions(statement)
            if a.startswith("ec2:") and not a.split(":")[1].startswith(READS)
        ]
        if not ec2_writes:
            continue
        equals = statement["Condition"]["StringEquals"]
        if statement["Sid"] == "TagOnCreate":
            assert equals == {"ec2:CreateAction": ["CreateVolume", "CreateSnapshot"]}
            continue
        assert equals in (
            {f"aws:RequestTag/{tag}": "owned"},
            {f"aws:ResourceTag/{tag}": "owned"},
        ), statement["Sid"]


def test_ebs_no_write_on_every_resource(ebs: list[dict[str, Any]]) -> None:
    for statement in ebs:
        if "*" in resources(statement):
            assert all(a.split(":")[1].startswith(READS) for a in actions(statement))
        for arn in resources(statement):
            assert arn == "*" or arn == KEY or arn.startswith("arn:aws:ec2:eu-west-1:123456789012:")


def test_ebs_volumes_only_on_this_clusters_nodes(ebs: list[dict[str, Any]]) -> None:
    (nodes,) = [s for s in ebs if any(":instance/" in r for r in resources(s))]
    assert sorted(actions(nodes)) == ["ec2:AttachVolume", "ec2:DetachVolume"]
    assert nodes["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"}
    }


def test_ebs_key_grants_only_for_aws_resources(ebs: list[dict[str, Any]]) -> None:
    kms = [s for s in ebs if any(a.startswith("kms:") for a in actions(s))]
    assert all(resources(s) == [KEY] for s in kms)
    (grants,) = [s for s in kms if "kms:CreateGrant" in actions(s)]
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_ebs_addon_tags_with_the_cluster_name() -> None:
    assert policies.ebs_csi_driver_configuration(CLUSTER) == {
        "controller": {"k8sTagClusterId": CLUSTER}
    }
