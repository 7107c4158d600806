"""Cluster constructs: input validation and what they make (the stack tests cover the rest)."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")


CONTROL_PLANE = {
    "name": "c",
    "kubernetes_version": "1.35",
    "subnet_ids": ["s"],
    "log_retention_days": 30,
    "admin_role_arns": ["arn:aws:iam::123456789012:role/admin"],
    "account": ACCOUNT,
}


def test_control_plane_rejects_a_world_open_endpoint(stack: Any) -> None:
    from kreo_infra.cluster.control_plane import EksControlPlane

    with pytest.raises(PropsError, match=r"public_access_cidrs=\['0.0.0.0/0'\]"):
        EksControlPlane(
            stack,
            "cp",
            **CONTROL_PLANE,
            endpoint_public_access=True,
            public_access_cidrs=["0.0.0.0/0"],
        )


def test_control_plane_needs_an_admin(stack: Any) -> None:
    from kreo_infra.cluster.control_plane import EksControlPlane

    with pytest.raises(PropsError, match=r"admin_role_arns=\[\] .* name at least one admin"):
        EksControlPlane(stack, "cp", **{**CONTROL_PLANE, "admin_role_arns": []})


NODE_GROUP = {
    "cluster_name": "c",
    "name": "general",
    "zone_subnets": {"use1-az1": "s"},
    "security_group_ids": ["g"],
    "instance_types": ["m7i.xlarge"],
    "min_size": 3,
    "desired_size": 3,
    "max_size": 10,
    "disk_size_gb": 50,
    "account": ACCOUNT,
    "tags": {},
}


def test_node_group_sizes_ordered(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    with pytest.raises(PropsError, match=r"\(4, 3, 10\) is not allowed"):
        ManagedNodeGroup(stack, "ng", **{**NODE_GROUP, "min_size": 4})


def test_node_group_needs_an_instance_type(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    with pytest.raises(PropsError, match=r"instance_types=\[\]"):
        ManagedNodeGroup(stack, "ng", **{**NODE_GROUP, "instance_types": []})


def test_node_group_needs_a_zone(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    with pytest.raises(PropsError, match=r"zone_subnets=\{\}"):
        ManagedNodeGroup(stack, "ng", **{**NODE_GROUP, "zone_subnets": {}})


def test_node_group_zonal_by_default_one_role_and_template(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    zones = {"use1-az1": "s1", "use1-az2": "s2"}
    ManagedNodeGroup(stack, "zonal", **{**NODE_GROUP, "zone_subnets": zones})
    resources = synth_stack(stack)["resource"]
    groups = sorted(resources["aws_eks_node_group"].values(), key=lambda g: g["node_group_name"])
    assert [(g["node_group_name"], g["subnet_ids"]) for g in groups] == [
        ("general-use1-az1", ["s1"]),
        ("general-use1-az2", ["s2"]),
    ]
    assert len(resources["aws_iam_role"]) == len(resources["aws_launch_template"]) == 1


def test_node_group_not_zonal_spans_every_subnet(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    zones = {"use1-az1": "s1", "use1-az2": "s2"}
    ManagedNodeGroup(stack, "spread", **{**NODE_GROUP, "zone_subnets": zones, "zonal": False})
    (group,) = synth_stack(stack)["resource"]["aws_eks_node_group"].values()
    assert (group["node_group_name"], group["subnet_ids"]) == ("general", ["s1", "s2"])


def test_repositories_need_distinct_services(stack: Any) -> None:
    from kreo_infra.cluster.registry import ServiceRepositories

    with pytest.raises(PropsError, match="name each service once"):
        ServiceRepositories(
            stack,
            "r",
            prefix="kreo",
            services=["a", "a"],
            untagged_expiry_days=7,
            keep_releases=30,
            account=ACCOUNT,
        )


def test_node_group_volumes_default_key_and_instances_tagged(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    ManagedNodeGroup(stack, "ng", **NODE_GROUP)
    (template,) = synth_stack(stack)["resource"]["aws_launch_template"].values()
    (device,) = template["block_device_mappings"]
    assert device["ebs"]["encrypted"] == "true"
    assert "kms_key_id" not in device["ebs"]  # EBS's default key when none is given
    tags = {t["resource_type"]: t["tags"] for t in template["tag_specifications"]}
    # The EBS CSI driver attaches volumes only to instances carrying the tag...
    assert tags["instance"]["kubernetes.io/cluster/c"] == "owned"
    # ...and acts on volumes carrying it: never on the nodes' root volumes.
    assert "kubernetes.io/cluster/c" not in tags["volume"]
    assert "kubernetes.io/cluster/c" not in tags["network-interface"]


def test_node_group_root_volumes_with_the_cluster_key(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    ManagedNodeGroup(stack, "ng", **NODE_GROUP, volume_key_arn="arn:aws:kms:r:1:key/k")
    (template,) = synth_stack(stack)["resource"]["aws_launch_template"].values()
    (device,) = template["block_device_mappings"]
    assert device["ebs"]["kms_key_id"] == "arn:aws:kms:r:1:key/k"


def test_volume_key_lets_auto_scaling_launch_encrypted_nodes(stack: Any) -> None:
    import json

    from kreo_infra.cluster.volume_key import VolumeKey

    VolumeKey(stack, "vk", cluster_name="c", account=ACCOUNT)
    resources = synth_stack(stack)["resource"]
    (key,) = resources["aws_kms_key"].values()
    (alias,) = resources["aws_kms_alias"].values()
    assert alias["name"] == "alias/c-ebs"
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"] if "Sid" in s}
    role = (
        "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )
    use = statements["AutoScalingEncryptsNodeVolumes"]
    assert use["Principal"] == {"AWS": role}
    assert sorted(use["Action"]) == sorted(
        ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    )
    grant = statements["AutoScalingGrantsEbsTheKey"]
    assert grant["Principal"] == {"AWS": role}
    assert grant["Action"] == ["kms:CreateGrant"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_addons_configuration_nested(stack: Any) -> None:
    import json

    from kreo_infra.cluster.addons import ManagedAddons

    ManagedAddons(
        stack,
        "a",
        cluster_name="c",
        versions={"aws-ebs-csi-driver": "v1", "coredns": "v2"},
        configurations={"aws-ebs-csi-driver": {"controller": {"k8sTagClusterId": "c"}}},
    )
    addons = {a["addon_name"]: a for a in synth_stack(stack)["resource"]["aws_eks_addon"].values()}
    assert json.loads(addons["aws-ebs-csi-driver"]["configuration_values"]) == {
        "controller": {"k8sTagClusterId": "c"}
    }
    assert "configuration_values" not in addons["coredns"]


def test_control_plane_zonal_shift_on_by_default(stack: Any) -> None:
    from kreo_infra.cluster.control_plane import EksControlPlane

    EksControlPlane(stack, "cp", **CONTROL_PLANE)
    (cluster,) = synth_stack(stack)["resource"]["aws_eks_cluster"].values()
    assert cluster["zonal_shift_config"] == {"enabled": True}


def test_control_plane_zonal_shift_switched_off(stack: Any) -> None:
    from kreo_infra.cluster.control_plane import EksControlPlane

    EksControlPlane(stack, "cp", **CONTROL_PLANE, zonal_shift=False)
    (cluster,) = synth_stack(stack)["resource"]["aws_eks_cluster"].values()
    # Said explicitly, so switching it off also deregisters an existing cluster.
    assert cluster["zonal_shift_config"] == {"enabled": False}


def test_node_group_auto_repair_on_by_default(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    zones = {"use1-az1": "s1", "use1-az2": "s2"}
    ManagedNodeGroup(stack, "ng", **{**NODE_GROUP, "zone_subnets": zones})
    groups = synth_stack(stack)["resource"]["aws_eks_node_group"].values()
    # One node at a time, paused while more than one of the group is unhealthy: EKS's
    # own pause (over 20% of a group of more than five nodes) never applies to groups
    # this small (EKS user guide, "Enable node auto repair").
    repair = {
        "enabled": True,
        "max_parallel_nodes_repaired_count": 1,
        "max_unhealthy_node_threshold_count": 1,
    }
    assert [g["node_repair_config"] for g in groups] == [repair] * len(zones)


def test_node_group_auto_repair_switched_off(stack: Any) -> None:
    from kreo_infra.cluster.node_group import ManagedNodeGroup

    ManagedNodeGroup(stack, "ng", **NODE_GROUP, auto_repair=False)
    (group,) = synth_stack(stack)["resource"]["aws_eks_node_group"].values()
    # Said explicitly, so switching it off also turns it off on existing groups.
    assert group["node_repair_config"] == {
        "enabled": False,
        "max_parallel_nodes_repaired_count": 1,
        "max_unhealthy_node_threshold_count": 1,
    }
