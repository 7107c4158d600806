"""The cluster workloads' permission statements: scoped to this cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.cluster import policies

CLUSTER = "kreo-test"
SCOPE = {"partition": "aws", "region": "eu-west-1", "account_id": "123456789012"}
KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else list(value)


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


# --- AWS Load Balancer Controller ----------------------------------------------------------------


@pytest.fixture
def controller() -> list[dict[str, Any]]:
    return policies.load_balancer_controller(**SCOPE, cluster_name=CLUSTER)


def test_controller_tag_tests_name_this_cluster(controller: list[dict[str, Any]]) -> None:
    """The published policy's ``Null: false`` ("any cluster's tag") becomes
    ``StringEquals`` this cluster's name on every statement that had it."""
    tag = policies.LOAD_BALANCER_CONTROLLER_TAG
    published = json.loads(
        (policies._HERE / "aws-load-balancer-controller.json").read_text(encoding="utf-8")
    )["Statement"]
    assert len(controller) == len(published)
    scoped = 0
    for before, after in zip(published, controller, strict=True):
        assert actions(after) == actions(before)
        null_before = before.get("Condition", {}).get("Null", {})
        for key, value in null_before.items():
            if value == "false":
                assert after["Condition"]["StringEquals"][key] == CLUSTER
                assert key not in after["Condition"].get("Null", {})
                scoped += 1
            else:  # "true": the request must not (re)set the tag; kept as published
                assert after["Condition"]["Null"][key] == "true"
    assert scoped == 7  # every Null "false" of the published v3.5.0 policy
    text = json.dumps(controller)
    assert f'"aws:ResourceTag/{tag}": "false"' not in text
    assert f'"aws:RequestTag/{tag}": "false"' not in text


def test_controller_arns_name_this_region_and_account(controller: list[dict[str, Any]]) -> None:
    arns = [r for s in controller for r in resources(s) if r != "*"]
    assert arns
    for arn in arns:
        assert arn.startswith(
            (
                "arn:aws:ec2:eu-west-1:123456789012:",
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:",
            )
        ), arn


def test_controller_partition(controller: list[dict[str, Any]]) -> None:
    other = policies.load_balancer_controller(
        **{**SCOPE, "partition": "aws-us-gov"}, cluster_name=CLUSTER
    )
    assert "arn:aws:" not in json.dumps(other)


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
