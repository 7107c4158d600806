"""kreo-<env>-cluster, asserted on the synthesized JSON of every environment."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.eks import ADDONS
from kreo_infra.platform.addons import REGISTRY
from tests.conftest import Synthesis

ADDON_ROLES = [a for a in REGISTRY if a.statements]
"""The Helm add-ons with a Pod Identity role (kreo_infra.platform.addons)."""

Env = tuple[Synthesis, str, EnvironmentConfig]
NETWORK_STATE = "${data.terraform_remote_state.cross-stack-reference-input-{prefix}-network."


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-cluster", config


def one(synthesis: Synthesis, stack: str, resource_type: str) -> dict[str, Any]:
    (body,) = synthesis.resources(stack, resource_type).values()
    return body


def test_control_plane_version_and_private_endpoint(env: Env) -> None:
    synthesis, stack, config = env
    cluster = one(synthesis, stack, "aws_eks_cluster")
    assert cluster["name"] == config.cluster_name
    assert cluster["version"] == config.cluster.kubernetes_version
    vpc = cluster["vpc_config"]
    assert vpc["endpoint_private_access"] is True
    assert vpc["endpoint_public_access"] is False
    assert "public_access_cidrs" not in vpc
    assert len(vpc["subnet_ids"]) == config.network.az_count
    network_state = NETWORK_STATE.replace("{prefix}", config.stack_prefix)
    assert all(s.startswith(network_state) and "private" in s for s in vpc["subnet_ids"])


def test_access_entries_only_not_the_creator(env: Env) -> None:
    synthesis, stack, config = env
    cluster = one(synthesis, stack, "aws_eks_cluster")
    assert cluster["access_config"] == {
        "authentication_mode": "API",
        "bootstrap_cluster_creator_admin_permissions": False,
    }
    associations = synthesis.resources(stack, "aws_eks_access_policy_association")
    entries = synthesis.resources(stack, "aws_eks_access_entry")
    principal_of = {
        synthesis.ref(stack, "aws_eks_access_entry", path, "principal_arn"): e["principal_arn"]
        for path, e in entries.items()
    }
    granted = {
        (principal_of[a["principal_arn"]].rsplit("/", 1)[1], a["policy_arn"].rsplit("/", 1)[1])
        for a in associations.values()
    }
    for association in associations.values():
        assert association["access_scope"] == {"type": "cluster"}
    assert granted == {
        *((n, "AmazonEKSClusterAdminPolicy") for n in config.cluster.admin_role_names),
        (config.deploy_role, "AmazonEKSClusterAdminPolicy"),  # the pipeline deploys into it
        *((n, "AmazonEKSViewPolicy") for n in config.cluster.readonly_role_names),
        (config.delivery.plan_role, "AmazonEKSViewPolicy"),  # pull requests: no Secrets
    }
    assert len(entries) == len(associations)
    assert all(e["type"] == "STANDARD" for e in entries.values())


def test_secrets_encrypted_with_a_rotating_key(env: Env) -> None:
    synthesis, stack, _ = env
    cluster = one(synthesis, stack, "aws_eks_cluster")
    key_path = "control-plane/secrets-key/key"
    assert cluster["encryption_config"] == {
        "resources": ["secrets"],
        "provider": {"key_arn": synthesis.ref(stack, "aws_kms_key", key_path, "arn")},
    }
    assert synthesis.resources(stack, "aws_kms_key")[key_path]["enable_key_rotation"] is True


def test_all_control_plane_logs_with_retention(env: Env) -> None:
    synthesis, stack, config = env
    cluster = one(synthesis, stack, "aws_eks_cluster")
    assert sorted(cluster["enabled_cluster_log_types"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    group = synthesis.resources(stack, "aws_cloudwatch_log_group")["control-plane/logs/group"]
    assert group["name"] == f"/aws/eks/{config.cluster_name}/cluster"
    assert group["retention_in_days"] == config.cluster.log_retention_days
    assert group["kms_key_id"] == synthesis.ref(
        stack, "aws_kms_key", "control-plane/logs/key/key", "arn"
    )
    log_group = "aws_cloudwatch_log_group." + group["//"]["metadata"]["uniqueId"]
    assert log_group in cluster["depends_on"]


def test_cluster_is_protected_and_stays_in_standard_support(env: Env) -> None:
    synthesis, stack, _ = env
    cluster = one(synthesis, stack, "aws_eks_cluster")
    assert cluster["deletion_protection"] is True
    assert cluster["upgrade_policy"] == {"support_type": "STANDARD"}


def test_cluster_registered_for_zonal_shift(env: Env) -> None:
    """On in every environment of config/ (defaults.yaml; none switches it off):
    an operator can shift the cluster away from an impaired zone. Zonal autoshift
    is a separate ARC setting, not made here."""
    synthesis, stack, config = env
    cluster = one(synthesis, stack, "aws_eks_cluster")
    assert config.cluster.zonal_shift is True
    assert cluster["zonal_shift_config"] == {"enabled": True}


def test_node_auto_repair_on_every_node_group(env: Env) -> None:
    """On for every group in every environment of config/ (defaults.yaml; none
    switches it off)."""
    synthesis, stack, config = env
    assert [g.auto_repair for g in config.cluster.node_groups.values()] == [True] * len(
        config.cluster.node_groups
    )
    groups = node_groups(synthesis, stack)
    assert groups
    assert {path: g.get("node_repair_config", {}).get("enabled") for path, g in groups.items()} == {
        path: True for path in groups
    }
    # One at a time, paused while more than one node of the group is unhealthy.
    for group in groups.values():
        assert group["node_repair_config"]["max_parallel_nodes_repaired_count"] == 1
        assert group["node_repair_config"]["max_unhealthy_node_threshold_count"] == 1


def managed_policies_of(synthesis: Synthesis, stack: str, role_path: str) -> set[str]:
    role = synthesis.ref(stack, "aws_iam_role", role_path, "name")
    return {
        a["policy_arn"].split(":policy/")[1]
        for a in synthesis.resources(stack, "aws_iam_role_policy_attachment").values()
        if a["role"] == role
    }


def inline_policies_of(synthesis: Synthesis, stack: str, role_path: str) -> list[dict]:
    role = synthesis.ref(stack, "aws_iam_role", role_path, "id")
    return [
        json.loads(p["policy"])
        for p in synthesis.resources(stack, "aws_iam_role_policy").values()
        if p["role"] == role
    ]


def test_cluster_role_has_only_the_eks_cluster_policy(env: Env) -> None:
    synthesis, stack, _ = env
    assert managed_policies_of(synthesis, stack, "control-plane/role") == {"AmazonEKSClusterPolicy"}
    assert inline_policies_of(synthesis, stack, "control-plane/role") == []


def node_groups(synthesis: Synthesis, stack: str) -> dict[str, dict[str, Any]]:
    return synthesis.resources(stack, "aws_eks_node_group")


def test_one_node_group_per_zone_from_config(env: Env) -> None:
    """Cluster Autoscaler can add a node in the zone a Pending pod needs only with
    one group per zone (its cloudprovider/aws/README.md, EBS volumes section)."""
    synthesis, stack, config = env
    group = config.cluster.node_groups["general"]
    zones = config.network.availability_zone_ids
    groups = node_groups(synthesis, stack)
    assert sorted(groups) == [f"node-group-general/node-group-{zone}" for zone in zones]
    cluster = one(synthesis, stack, "aws_eks_cluster")
    private = cluster["vpc_config"]["subnet_ids"]
    for index, zone in enumerate(zones):
        node_group = groups[f"node-group-general/node-group-{zone}"]
        assert node_group["node_group_name"] == f"general-{zone}"
        assert node_group["subnet_ids"] == [private[index]]
        assert node_group["instance_types"] == group.instance_types
        assert node_group["scaling_config"] == {
            "min_size": group.min_size,
            "desired_size": group.desired_size,
            "max_size": group.max_size,
        }
        assert node_group["lifecycle"]["ignore_changes"] == ["scaling_config[0].desired_size"]
        assert "remote_access" not in node_group
    # One node role and one launch template for all of them.
    roles = {g["node_role_arn"] for g in groups.values()}
    assert roles == {synthesis.ref(stack, "aws_iam_role", "node-group-general/role", "arn")}


def millicores(quantity: str) -> int:
    return int(quantity.removesuffix("m")) if quantity.endswith("m") else int(quantity) * 1000


def test_nodes_hold_every_service_at_its_maximum(env: Env) -> None:
    """The groups total the configured node bounds over the zones, and at their
    maximum the nodes' allocatable CPU holds every service's pods at their
    maximum replicas (tests/test_capacity.py does the full arithmetic)."""
    from kreo_infra.config.instance_types import INSTANCE_TYPES

    synthesis, stack, config = env
    group = config.cluster.node_groups["general"]
    groups = node_groups(synthesis, stack).values()
    assert {tuple(g["instance_types"]) for g in groups} == {tuple(group.instance_types)}
    low, high = group.node_bounds(config.network.az_count)
    assert sum(g["scaling_config"]["min_size"] for g in groups) == low
    assert sum(g["scaling_config"]["max_size"] for g in groups) == high
    demand = sum(
        s.autoscaling.max_replicas * millicores(s.requests.cpu) for s in config.services.values()
    )
    node = min(INSTANCE_TYPES[t].allocatable_cpu_millicores for t in group.instance_types)
    assert demand <= high * node


def test_launch_template_is_hardened(env: Env) -> None:
    synthesis, stack, _ = env
    template = one(synthesis, stack, "aws_launch_template")
    assert template["metadata_options"]["http_tokens"] == "required"
    assert template["metadata_options"]["http_put_response_hop_limit"] == 1
    ((root,),) = [template["block_device_mappings"]]
    assert root["ebs"]["volume_type"] == "gp3"
    assert root["ebs"]["encrypted"] == "true"
    assert "key_name" not in template
    assert template["vpc_security_group_ids"] == [
        synthesis.ref(
            stack, "aws_eks_cluster", "control-plane/cluster", "vpc_config[0]"
        ).removesuffix(".vpc_config[0]}")
        + ".vpc_config[0].cluster_security_group_id}",
        synthesis.ref(stack, "aws_security_group", "data-clients", "id"),
    ]


def test_node_role_has_the_minimum(env: Env) -> None:
    synthesis, stack, _ = env
    role_path = "node-group-general/role"
    assert managed_policies_of(synthesis, stack, role_path) == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
    }
    assert inline_policies_of(synthesis, stack, role_path) == []


def test_managed_addons_pinned_from_config(env: Env) -> None:
    synthesis, stack, config = env
    addons = {a["addon_name"]: a for a in synthesis.resources(stack, "aws_eks_addon").values()}
    assert set(addons) == set(ADDONS)
    for name, addon in addons.items():
        assert addon["addon_version"] == config.cluster.addons[name]


def test_vpc_cni_enforces_network_policies(env: Env) -> None:
    """Without the CNI's policy agent the marketplace's NetworkPolicies would do nothing."""
    synthesis, stack, _ = env
    addons = {a["addon_name"]: a for a in synthesis.resources(stack, "aws_eks_addon").values()}
    assert json.loads(addons["vpc-cni"]["configuration_values"]) == {"enableNetworkPolicy": "true"}
    configured = {"vpc-cni", "aws-ebs-csi-driver"}
    assert all("configuration_values" not in a for n, a in addons.items() if n not in configured)


def test_ebs_csi_driver_tags_its_volumes_with_the_cluster(env: Env) -> None:
    """The tag the driver's role is scoped by (``--k8s-tag-cluster-id``)."""
    synthesis, stack, config = env
    addons = {a["addon_name"]: a for a in synthesis.resources(stack, "aws_eks_addon").values()}
    assert json.loads(addons["aws-ebs-csi-driver"]["configuration_values"]) == {
        "controller": {"k8sTagClusterId": config.cluster_name}
    }


def test_ebs_csi_driver_acts_only_on_this_clusters_volumes(env: Env) -> None:
    synthesis, stack, config = env
    assert managed_policies_of(synthesis, stack, "ebs-csi-driver/role") == set()
    tag = f"kubernetes.io/cluster/{config.cluster_name}"
    key = synthesis.ref(stack, "aws_kms_key", "volume-key/key/key", "arn")
    for statement in statements_of(synthesis, stack, "ebs-csi-driver"):
        conditions = json.dumps(statement.get("Condition", {}))
        if statement["Resource"] == "*":
            assert all(":Describe" in a for a in statement["Action"])
        elif statement["Resource"] == key:
            assert all(a.startswith("kms:") for a in statement["Action"])
        else:
            assert tag in conditions or "ec2:CreateAction" in conditions, statement["Sid"]


def test_volumes_encrypted_with_the_clusters_key(env: Env) -> None:
    synthesis, stack, config = env
    key = synthesis.ref(stack, "aws_kms_key", "volume-key/key/key", "arn")
    for template in synthesis.resources(stack, "aws_launch_template").values():
        ((root,),) = [template["block_device_mappings"]]
        assert root["ebs"]["kms_key_id"] == key
    aliases = {a["name"] for a in synthesis.resources(stack, "aws_kms_alias").values()}
    assert f"alias/{config.cluster_name}-ebs" in aliases


def test_load_balancer_controller_scoped_to_this_cluster(env: Env) -> None:
    synthesis, stack, config = env
    tag = "elbv2.k8s.aws/cluster"
    statements = statements_of(synthesis, stack, "load-balancer-controller")
    scoped = [
        s["Condition"]["StringEquals"]
        for s in statements
        if any(tag in k for k in s.get("Condition", {}).get("StringEquals", {}))
    ]
    assert len(scoped) == 7
    assert all(v == config.cluster_name for c in scoped for k, v in c.items() if tag in k)
    assert all(
        v == "true" for s in statements for v in s.get("Condition", {}).get("Null", {}).values()
    )


def test_addon_order_around_the_nodes(env: Env) -> None:
    synthesis, stack, _ = env
    groups = node_groups(synthesis, stack)
    addons = synthesis.resources(stack, "aws_eks_addon")
    for node_group in groups.values():
        node_ref = "aws_eks_node_group." + node_group["//"]["metadata"]["uniqueId"]
        for path, addon in addons.items():
            ref = "aws_eks_addon." + addon["//"]["metadata"]["uniqueId"]
            if addon["addon_name"] in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
                assert ref in node_group["depends_on"], path
            else:
                assert node_ref in addon["depends_on"], path


def role_of_workload(synthesis: Synthesis, stack: str, workload: str) -> str:
    return synthesis.ref(stack, "aws_iam_role", f"{workload}/role", "arn")


@pytest.mark.parametrize(
    ("workload", "namespace", "service_account"),
    [
        ("load-balancer-controller", "kube-system", "aws-load-balancer-controller"),
        ("cluster-autoscaler", "kube-system", "cluster-autoscaler"),
        ("external-dns", "external-dns", "external-dns"),
        ("alertmanager", "monitoring", "alertmanager"),
        ("external-secrets", "external-secrets", "external-secrets"),
        ("product-service", "kreo-marketplace", "product-service"),
    ],
)
def test_workload_bound_to_its_service_account(
    env: Env, workload: str, namespace: str, service_account: str
) -> None:
    synthesis, stack, _ = env
    association = synthesis.resources(stack, "aws_eks_pod_identity_association")[
        f"{workload}/association"
    ]
    assert (association["namespace"], association["service_account"]) == (
        namespace,
        service_account,
    )
    assert association["role_arn"] == role_of_workload(synthesis, stack, workload)


@pytest.mark.parametrize(
    ("addon", "workload", "service_account", "policy"),
    [
        ("vpc-cni", "vpc-cni", "aws-node", "AmazonEKS_CNI_Policy"),
        ("aws-ebs-csi-driver", "ebs-csi-driver", "ebs-csi-controller-sa", None),
        (
            "amazon-cloudwatch-observability",
            "cloudwatch-agent",
            "cloudwatch-agent",
            "CloudWatchAgentServerPolicy",
        ),
    ],
)
def test_addons_get_their_permissions_through_pod_identity(
    env: Env, addon: str, workload: str, service_account: str, policy: str | None
) -> None:
    synthesis, stack, _ = env
    (body,) = [
        a for a in synthesis.resources(stack, "aws_eks_addon").values() if a["addon_name"] == addon
    ]
    assert body["pod_identity_association"] == [
        {
            "role_arn": role_of_workload(synthesis, stack, workload),
            "service_account": service_account,
        }
    ]
    # The EBS CSI driver's own statements: test_ebs_csi_driver_acts_only_on_this_clusters_volumes.
    assert managed_policies_of(synthesis, stack, f"{workload}/role") == ({policy} - {None})


def test_workload_roles_trust_only_pod_identity_of_this_cluster(env: Env) -> None:
    synthesis, stack, _ = env
    cluster_arn = synthesis.ref(stack, "aws_eks_cluster", "control-plane/cluster", "arn")
    roles = synthesis.resources(stack, "aws_iam_role")
    workload_roles = {
        p: r
        for p, r in roles.items()
        if p.count("/") == 1 and "group" not in p and "-runner/" not in p
    }
    workload_roles.pop("control-plane/role")
    assert len(workload_roles) == len(ADDON_ROLES) + 4  # product, EBS, CloudWatch, VPC CNI
    for path, role in workload_roles.items():
        (statement,) = json.loads(role["assume_role_policy"])["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}, path
        assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": cluster_arn}, path


def statements_of(synthesis: Synthesis, stack: str, workload: str) -> list[dict]:
    (document,) = inline_policies_of(synthesis, stack, f"{workload}/role")
    return document["Statement"]


def edge_zone_arn(synthesis: Synthesis, stack: str, config: EnvironmentConfig) -> str:
    """The zone ARN a cluster role names: the edge stack's zone id (the zone it
    creates, or looks up: tests/kreo_infra/stacks/test_edge.py), across stacks."""
    outputs = synthesis.stack(f"{config.stack_prefix}-edge")["output"]
    zone = outputs["zone-id"]["value"]
    (output,) = [
        name
        for name, body in outputs.items()
        if body["value"] == zone and name.startswith("cross-stack-output-")
    ]
    remote = f"data.terraform_remote_state.cross-stack-reference-input-{config.stack_prefix}-edge"
    partition = "${data.aws_partition.partition.partition}"
    return f"arn:{partition}:route53:::hostedzone/${{{remote}.outputs.{output}}}"


def test_external_dns_changes_only_the_api_host_in_the_edge_zone(env: Env) -> None:
    synthesis, stack, config = env
    (change,) = [
        s
        for s in statements_of(synthesis, stack, "external-dns")
        if "route53:ChangeResourceRecordSets" in s["Action"]
    ]
    names = change["Condition"]["ForAllValues:StringLike"][
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    ]
    api = config.dns.api_fqdn
    assert names == [api, f"*-{api}"]
    zone = edge_zone_arn(synthesis, stack, config)
    for statement in statements_of(synthesis, stack, "external-dns"):
        if statement["Sid"] != "FindZones":
            assert statement["Resource"] == zone


def test_external_dns_can_never_touch_the_edge_records(env: Env) -> None:
    """Two owners never fight over one record: no edge-owned name matches the role.
    The zone's edge records are its owner's edge's: a recovery's external-dns works
    in its recovered environment's zone, whose records that environment's edge made."""
    synthesis, stack, config = env
    owner = synthesis.environment(config.recovery_of) if config.recovery_of else config
    (change,) = [
        s
        for s in statements_of(synthesis, stack, "external-dns")
        if "route53:ChangeResourceRecordSets" in s["Action"]
    ]
    patterns = change["Condition"]["ForAllValues:StringLike"][
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    ]
    edge_records = {
        r["name"]
        for r in synthesis.resources(f"{owner.stack_prefix}-edge", "aws_route53_record").values()
        if not r["name"].startswith("${")
    }
    assert owner.dns.domain == config.dns.domain
    assert {config.dns.www_fqdn, config.dns.vendors_fqdn, config.dns.cdn_fqdn} <= edge_records
    assert [
        (name, p) for name in edge_records for p in patterns if fnmatch.fnmatchcase(name, p)
    ] == []
    assert fnmatch.fnmatchcase(f"cname-{config.dns.api_fqdn}", patterns[1])


def test_alertmanager_publishes_only_to_the_alarm_topic(env: Env) -> None:
    synthesis, stack, config = env
    publish, encrypt = statements_of(synthesis, stack, "alertmanager")
    assert publish["Action"] == ["sns:Publish"]
    assert f":sns:{config.region}:" in publish["Resource"]
    assert publish["Resource"].endswith(f":{config.alarm_topic_name}")
    assert encrypt["Action"] == ["kms:GenerateDataKey*", "kms:Decrypt"]
    assert encrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": f"sns.{config.region}.amazonaws.com"},
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{config.alarm_topic_name}"},
    }


def test_the_alarm_topic_and_key_are_where_alertmanager_publishes(env: Env) -> None:
    synthesis, _, config = env
    observability = f"{config.stack_prefix}-observability"
    topic = synthesis.resources(observability, "aws_sns_topic")["alarm-topic/topic"]
    assert topic["name"] == config.alarm_topic_name
    alias = synthesis.resources(observability, "aws_kms_alias")["alarm-topic/key/alias"]
    assert alias["name"] == f"alias/{config.alarm_topic_name}"


def test_nobody_may_change_dns_for_certificates(env: Env) -> None:
    """cert-manager issues only the load balancer controller's webhook certificate
    (a self-signed Issuer): no ACME, no Route53 role."""
    synthesis, stack, _ = env
    roles = synthesis.resources(stack, "aws_iam_role")
    assert not [path for path in roles if path.startswith("cert-manager")]


def test_external_secrets_reads_only_the_environment_prefix(env: Env) -> None:
    synthesis, stack, config = env
    statement, decrypt = statements_of(synthesis, stack, "external-secrets")
    assert statement["Resource"].endswith(f":secret:{config.secrets_prefix}*")
    assert all(a.startswith("secretsmanager:") for a in statement["Action"])
    assert not any(
        a.startswith(("secretsmanager:Put", "secretsmanager:Create")) for a in statement["Action"]
    )
    # The secrets are encrypted with customer-managed keys: GetSecretValue needs
    # kms:Decrypt too, through Secrets Manager and for these secrets only.
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Resource"].endswith(":key/*")
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{config.region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:SecretARN": statement["Resource"]},
    }


def test_product_service_reaches_only_the_media_bucket(env: Env) -> None:
    synthesis, stack, config = env
    statements = statements_of(synthesis, stack, "product-service")
    kms = [s for s in statements if s["Sid"] == "UseTheMediaKeyThroughS3"]
    s3 = [s for s in statements if s["Sid"] != "UseTheMediaKeyThroughS3"]
    bucket = config.storage.media_bucket
    assert all(s["Resource"].split(":s3:::")[1].split("/")[0] == bucket for s in s3)
    assert len(s3) == 2
    (key,) = kms
    condition = key["Condition"]["StringEquals"]
    assert condition["kms:EncryptionContext:aws:s3:arn"].endswith(f":s3:::{bucket}")
    assert condition["kms:ViaService"] == f"s3.{config.region}.amazonaws.com"


def test_cluster_autoscaler_resizes_only_this_clusters_groups(env: Env) -> None:
    synthesis, stack, config = env
    (resize,) = [
        s
        for s in statements_of(synthesis, stack, "cluster-autoscaler")
        if "autoscaling:SetDesiredCapacity" in s["Action"]
    ]
    assert resize["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{config.cluster_name}": "owned"
    }


def test_data_clients_group_has_no_rules_and_is_on_every_node(env: Env) -> None:
    synthesis, stack, _ = env
    group = synthesis.resources(stack, "aws_security_group")["data-clients"]
    assert "ingress" not in group
    assert "egress" not in group
    ref = synthesis.ref(stack, "aws_security_group", "data-clients", "id")
    for template in synthesis.resources(stack, "aws_launch_template").values():
        assert ref in template["vpc_security_group_ids"]


def test_no_environment_creates_image_repositories(env: Env) -> None:
    # The account's bootstrap does (tests/kreo_infra/stacks/test_bootstrap.py):
    # every environment pulls the same images.
    synthesis, stack, config = env
    assert synthesis.resources(stack, "aws_ecr_repository") == {}
    urls = synthesis.stack(stack)["output"]["repository-urls"]["value"]
    assert set(urls) == set(config.services)
    assert all(
        u.endswith(f".dkr.ecr.{config.region}.amazonaws.com/{config.project}/{s}")
        for s, u in urls.items()
    )


def test_outputs_for_later_stacks(env: Env) -> None:
    synthesis, stack, _ = env
    outputs = synthesis.stack(stack)["output"]
    assert {
        "cluster-name", "cluster-endpoint", "cluster-certificate-authority-data",
        "cluster-oidc-issuer", "cluster-security-group-id", "data-clients-security-group-id",
        "workload-role-arns", "repository-urls",
    } <= set(outputs)  # fmt: skip
    # The volume key reaches the platform layer's StorageClass as a cross-stack
    # reference (cdktf adds that output itself).
    assert len(outputs["workload-role-arns"]["value"]) == len(ADDON_ROLES) + 4


def access_policies(synthesis: Synthesis, stack: str) -> dict[str, str]:
    """IAM role name -> the EKS access policy associated with its entry."""
    entries = synthesis.resources(stack, "aws_eks_access_entry")
    principal_of = {
        synthesis.ref(stack, "aws_eks_access_entry", path, "principal_arn"): e["principal_arn"]
        for path, e in entries.items()
    }
    return {
        principal_of[a["principal_arn"]].rsplit("/", 1)[1]: a["policy_arn"].rsplit("/", 1)[1]
        for a in synthesis.resources(stack, "aws_eks_access_policy_association").values()
    }


def test_the_plan_role_views_the_cluster_without_secrets(env: Env) -> None:
    """Pull requests' code plans on a runner that reaches the API: the plan role gets
    Kubernetes' ``view`` (no Secrets), not the admin-view policy (Secrets too)."""
    synthesis, stack, config = env
    policy = access_policies(synthesis, stack)[config.delivery.plan_role]
    assert policy == "AmazonEKSViewPolicy"
    assert all(p != "AmazonEKSAdminViewPolicy" for p in access_policies(synthesis, stack).values())


@pytest.mark.parametrize("layer", ["platform", "app"])
def test_helm_keeps_its_release_records_in_configmaps(env: Env, layer: str) -> None:
    """So the plan role's view policy can refresh the releases."""
    synthesis, _, config = env
    (helm,) = synthesis.stack(f"{config.stack_prefix}-{layer}")["provider"]["helm"]
    assert helm["helm_driver"] == "configmap"


def test_deploy_and_plan_runners_in_the_private_subnets(env: Env) -> None:
    synthesis, stack, config = env
    name = config.cluster_name
    projects = synthesis.resources(stack, "aws_codebuild_project")
    assert sorted(p["name"] for p in projects.values()) == [
        f"{name}-deploy-runner",
        f"{name}-plan-runner",
    ]
    network_state = NETWORK_STATE.replace("{prefix}", config.stack_prefix)
    cluster_group = synthesis.ref(
        stack, "aws_eks_cluster", "control-plane/cluster", "vpc_config[0].cluster_security_group_id"
    )
    rules = synthesis.resources(stack, "aws_vpc_security_group_ingress_rule").values()
    for purpose, workflow in (("deploy", "infra-deploy"), ("plan", "infra-ci")):
        project = projects[f"{purpose}-runner/project"]
        vpc = project["vpc_config"]
        assert vpc["vpc_id"].startswith(network_state)
        assert len(vpc["subnets"]) == config.network.az_count
        assert all(s.startswith(network_state) and "private" in s for s in vpc["subnets"])
        group = synthesis.ref(stack, "aws_security_group", f"{purpose}-runner/security-group", "id")
        assert vpc["security_group_ids"] == [group]
        assert [
            (r["from_port"], r["to_port"])
            for r in rules
            if r["security_group_id"] == cluster_group
            and r.get("referenced_security_group_id") == group
        ] == [(443, 443)]
        (webhook,) = [
            w
            for p, w in synthesis.resources(stack, "aws_codebuild_webhook").items()
            if p == f"{purpose}-runner/webhook"
        ]
        (filter_group,) = webhook["filter_group"]
        assert filter_group["filter"] == [
            {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
            {"type": "WORKFLOW_NAME", "pattern": f"^{workflow}$"},
        ]
        assert project["logs_config"]["cloudwatch_logs"]["status"] == "ENABLED"
        group_path = f"{purpose}-runner/logs/group"
        log_group = synthesis.resources(stack, "aws_cloudwatch_log_group")[group_path]
        assert log_group["retention_in_days"] == config.cluster.log_retention_days


def test_no_runner_holds_a_github_credential(env: Env) -> None:
    """A pull request's code runs on the plan runner with its service role: no
    CodeConnections connection (whose token a build could mint), no source auth
    of its own; CodeBuild uses the account's source credential (decision 56)."""
    synthesis, stack, _ = env
    assert "aws_codestarconnections_connection" not in synthesis.stack(stack).get("data", {})
    for project in synthesis.resources(stack, "aws_codebuild_project").values():
        assert "auth" not in project["source"]
    for path, policy in synthesis.resources(stack, "aws_iam_role_policy").items():
        if "-runner/" in path:
            assert "codeconnections" not in policy["policy"], path
            assert "codestar-connections" not in policy["policy"], path


def test_runner_project_names_output(env: Env) -> None:
    synthesis, stack, _ = env
    value = synthesis.stack(stack)["output"]["runner-project-names"]["value"]
    refs = {
        purpose: synthesis.ref(stack, "aws_codebuild_project", f"{purpose}-runner/project", "name")
        for purpose in ("deploy", "plan")
    }
    assert value == refs
