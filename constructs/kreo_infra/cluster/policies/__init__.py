"""Permission statements of the cluster's workloads, as data.

Every statement is scoped to ARNs (or, where the API only accepts ``*``, to
tags or request conditions); tests parse every document and list each
remaining ``"Resource": "*"`` with the reason AWS leaves no narrower choice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from kreo_infra.security.iam import Statement

_HERE = Path(__file__).parent


LOAD_BALANCER_CONTROLLER_TAG = "elbv2.k8s.aws/cluster"
"""The tag the AWS Load Balancer Controller puts on everything it creates, valued
with its ``--cluster-name`` (controller v3.5.0 ``pkg/deploy/tracking/provider.go``:
``elbv2.k8s.aws/cluster: cluster-name`` on all AWS resources; the backend security
group too, ``pkg/networking/backend_sg_provider.go``)."""


def _scope_to_cluster(statement: Statement, cluster_name: str) -> Statement:
    """One statement of the published policy with its ``Null`` test on the
    controller's tag ("carries the tag, any value": any cluster's) turned into
    ``StringEquals`` this cluster's name. ``Null ... "true"`` (the request does
    not set the tag) stays: it is what stops the controller re-tagging a
    resource into its cluster."""
    condition = {key: dict(value) for key, value in statement.get("Condition", {}).items()}
    null = condition.get("Null", {})
    equals = dict(condition.get("StringEquals", {}))
    for key in [k for k, v in null.items() if k.endswith(f"/{LOAD_BALANCER_CONTROLLER_TAG}")]:
        if null[key] == "false":
            equals[key] = cluster_name
            del null[key]
    if equals:
        condition["StringEquals"] = equals
    if not null:
        condition.pop("Null", None)
    return {**statement, "Condition": condition} if condition else dict(statement)


def load_balancer_controller(
    *, partition: str, region: str, account_id: str, cluster_name: str
) -> list[Statement]:
    """The AWS Load Balancer Controller's published policy (controller v3.5.0),
    scoped to this cluster, this region and this account.

    Read from ``aws-load-balancer-controller.json`` (the controller's
    ``docs/install/iam_policy.json`` at v3.5.0, verbatim, so an upgrade is a file
    diff), then narrowed: the published policy tests the ``elbv2.k8s.aws/cluster``
    tag with ``Null`` (the tag is present, whatever cluster it names), so a
    controller could delete or rewire another cluster's load balancers in the
    account; here every such test requires the tag to equal ``cluster_name``,
    the value the controller writes (:data:`LOAD_BALANCER_CONTROLLER_TAG`).
    ARNs name this region and account instead of ``*``.

    What stays unscoped, as upstream, because the controller cannot tag it or
    AWS cannot condition it: ``CreateSecurityGroup`` (no ARN before it exists;
    its tags must carry this cluster's value), ingress rules on the node
    security groups (not the controller's: it opens them to its load
    balancers), listeners and rules (``CreateListener``/``CreateRule`` have no
    tag-on-create in the published policy; their ARNs are generated), WAF and
    Shield association, and the read-only calls.
    https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/docs/install/iam_policy.json
    """
    text = (_HERE / "aws-load-balancer-controller.json").read_text(encoding="utf-8")
    text = text.replace("arn:aws:ec2:*:*:", f"arn:{partition}:ec2:{region}:{account_id}:")
    text = text.replace(
        "arn:aws:elasticloadbalancing:*:*:",
        f"arn:{partition}:elasticloadbalancing:{region}:{account_id}:",
    )
    text = text.replace("arn:aws:", f"arn:{partition}:")
    statements = json.loads(text)["Statement"]
    return [_scope_to_cluster(statement, cluster_name) for statement in statements]


EBS_CSI_CLUSTER_TAG = "kubernetes.io/cluster/{cluster_name}"
"""The tag the EBS CSI driver puts on every volume and snapshot it creates when
``--k8s-tag-cluster-id`` is set (value ``owned``; driver docs/tagging.md at v1.53.0),
and the tag the node launch template puts on every node."""


def ebs_csi_driver_configuration(cluster_name: str) -> dict[str, object]:
    """The ``aws-ebs-csi-driver`` add-on's configuration: the controller tags what
    it creates with ``kubernetes.io/cluster/<cluster_name>=owned`` (the chart's
    ``controller.k8sTagClusterId`` renders ``--k8s-tag-cluster-id``, chart
    templates/controller.yaml at v1.53.0), the tag :func:`ebs_csi_driver` scopes by.
    https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/v1.53.0/charts/aws-ebs-csi-driver/values.yaml
    """
    return {"controller": {"k8sTagClusterId": cluster_name}}


def ebs_csi_driver(
    *, partition: str, region: str, account_id: str, cluster_name: str, key_arn: str
) -> list[Statement]:
    """The EBS CSI driver's permissions, limited to this cluster's volumes and snapshots.

    Replaces ``AmazonEBSCSIDriverPolicy``, which may attach, detach, modify and
    (for any volume the driver ever tagged, in any cluster) delete every volume
    in the account. Here each write needs the cluster tag
    (:data:`EBS_CSI_CLUSTER_TAG`): on the request when creating (the driver sends
    its tags with ``CreateVolume``/``CreateSnapshot``), on the resource otherwise;
    attach and detach also need the instance to be one of this cluster's nodes
    (the launch template tags them). The statements follow the driver's tag-based
    example policy (docs/example-iam-policy.json at v1.53.0) with the cluster tag
    in place of ``ebs.csi.aws.com/cluster=true`` (which every cluster's driver
    writes). Volumes are encrypted with ``key_arn`` (the StorageClass's
    ``kmsKeyId``): EBS needs a grant on it and the data-key calls, per the EKS
    user guide ("Store Kubernetes volumes with Amazon EBS", custom KMS key).
    Describe calls support no resource-level permissions.
    https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/v1.53.0/docs/example-iam-policy.json
    https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi.html
    """
    tag = EBS_CSI_CLUSTER_TAG.format(cluster_name=cluster_name)
    arn = f"arn:{partition}:ec2:{region}:{account_id}"
    volumes, snapshots, instances = f"{arn}:volume/*", f"{arn}:snapshot/*", f"{arn}:instance/*"
    on_request = {"StringEquals": {f"aws:RequestTag/{tag}": "owned"}}
    on_resource = {"StringEquals": {f"aws:ResourceTag/{tag}": "owned"}}
    return [
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInstances",
                "ec2:DescribeSnapshots",
                "ec2:DescribeTags",
                "ec2:DescribeVolumes",
                "ec2:DescribeVolumesModifications",
                "ec2:DescribeVolumeStatus",
            ],
            "Resource": "*",
        },
        {
            "Sid": "CreateVolumesTaggedForThisCluster",
            "Effect": "Allow",
            "Action": ["ec2:CreateVolume"],
            "Resource": volumes,
            "Condition": on_request,
        },
        {
            "Sid": "CreateSnapshotsTaggedForThisCluster",
            "Effect": "Allow",
            "Action": ["ec2:CreateSnapshot"],
            "Resource": snapshots,
            "Condition": on_request,
        },
        {
            # A volume from a snapshot, a snapshot of a volume: each call is also
            # authorized against its source, which must be this cluster's.
            "Sid": "FromThisClustersSources",
            "Effect": "Allow",
            "Action": ["ec2:CreateVolume", "ec2:CreateSnapshot"],
            "Resource": [snapshots, volumes],
            "Condition": on_resource,
        },
        {
            "Sid": "TagOnCreate",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags"],
            "Resource": [volumes, snapshots],
            "Condition": {"StringEquals": {"ec2:CreateAction": ["CreateVolume", "CreateSnapshot"]}},
        },
        {
            "Sid": "ManageThisClustersVolumes",
            "Effect": "Allow",
            "Action": [
                "ec2:AttachVolume",
                "ec2:DetachVolume",
                "ec2:ModifyVolume",
                "ec2:DeleteVolume",
                "ec2:DeleteSnapshot",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
            "Resource": [volumes, snapshots],
            "Condition": on_resource,
        },
        {
            "Sid": "OnThisClustersNodes",
            "Effect": "Allow",
            "Action": ["ec2:AttachVolume", "ec2:DetachVolume"],
            "Resource": instances,
            "Condition": on_resource,
        },
        {
            "Sid": "GrantEbsTheVolumeKey",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "UseTheVolumeKey",
            "Effect": "Allow",
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            "Resource": key_arn,
        },
    ]


def cluster_autoscaler(
    *, partition: str, region: str, account_id: str, cluster_name: str
) -> list[Statement]:
    """Read the node groups; resize only the Auto Scaling groups of this cluster."""
    return [
        {
            "Sid": "DiscoverNodeGroups",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
            "Resource": "*",
        },
        {
            "Sid": "DescribeThisClustersNodeGroups",
            "Effect": "Allow",
            "Action": ["eks:DescribeNodegroup"],
            "Resource": f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*",
        },
        {
            "Sid": "ResizeThisClustersGroups",
            "Effect": "Allow",
            "Action": [
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            ],
            "Resource": f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*",
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"
                }
            },
        },
    ]


def external_dns_record_names(hosts: Sequence[str]) -> list[str]:
    """The record names external-dns may change: each host, and its TXT registry
    records (``a-<host>``, ``aaaa-<host>``, ``cname-<host>``)."""
    return [name for host in hosts for name in (host, f"*-{host}")]


def external_dns(*, partition: str, zone_id: str, hosts: Sequence[str]) -> list[Statement]:
    """Change the records of ``hosts`` (and their registry TXT records) in one zone only.

    The edge layer owns every other record of the zone; limiting names here is
    what guarantees the two owners never fight over one record.
    """
    zone = f"arn:{partition}:route53:::hostedzone/{zone_id}"
    return [
        {
            "Sid": "ChangeTheIngressHostRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": zone,
            "Condition": {
                "ForAllValues:StringLike": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": (
                        external_dns_record_names(hosts)
                    )
                }
            },
        },
        {
            "Sid": "ReadZoneRecords",
            "Effect": "Allow",
            "Action": ["route53:ListResourceRecordSets", "route53:ListTagsForResources"],
            "Resource": zone,
        },
        {
            "Sid": "FindZones",
            "Effect": "Allow",
            "Action": ["route53:ListHostedZones"],
            "Resource": "*",
        },
    ]


def alert_publisher(*, partition: str, region: str, account_id: str, topic: str) -> list[Statement]:
    """Publish to the SNS topic named ``topic`` (Alertmanager's ``sns_configs``), nothing else.

    The topic is encrypted with a customer-managed key whose alias is
    ``alias/<topic>`` (:class:`kreo_infra.observability.topic.AlarmTopic`);
    publishing needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` on it ("Enable
    compatibility between event sources from AWS services and encrypted topics",
    Amazon SNS documentation). The topic and its key belong to the observability
    layer, deployed after this one: the key is named by its alias
    (``kms:ResourceAliases``) and used only through SNS in this region.
    """
    return [
        {
            "Sid": "PublishAlerts",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": f"arn:{partition}:sns:{region}:{account_id}:{topic}",
        },
        {
            "Sid": "EncryptThemWithTheTopicsKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": f"arn:{partition}:kms:{region}:{account_id}:key/*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"},
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{topic}"},
            },
        },
    ]


def external_secrets(
    *, partition: str, region: str, account_id: str, prefix: str
) -> list[Statement]:
    """Read (never write or list) the secrets whose names start with ``prefix``.

    Every secret is encrypted with a customer-managed key, and GetSecretValue
    needs ``kms:Decrypt`` on it too (Secrets Manager decrypts on the caller's
    behalf: "Secret encryption and decryption in AWS Secrets Manager", AWS
    documentation). Allowed only through Secrets Manager in this region and
    only for these secrets (the ``SecretARN`` encryption context Secrets Manager
    always sends); the keys live in the data layer, deployed after this one,
    hence the context rather than key ARNs.
    """
    secrets = f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{prefix}*"
    return [
        {
            "Sid": "ReadTheEnvironmentsSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
                "secretsmanager:ListSecretVersionIds",
            ],
            "Resource": secrets,
        },
        {
            "Sid": "DecryptThemThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": f"arn:{partition}:kms:{region}:{account_id}:key/*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:SecretARN": secrets},
            },
        },
    ]


def media_bucket_read_write(
    *, partition: str, region: str, account_id: str, bucket: str
) -> list[Statement]:
    """List the media bucket and read, write and delete its objects; nothing else.

    The bucket is SSE-KMS with a bucket key, so reading and writing objects
    needs the key too: allowed only through S3 in this region and only for
    this bucket's encryption context (the key lives in the data layer, which
    is deployed after this one, hence the context rather than the key ARN).
    """
    return [
        {
            "Sid": "UseTheMediaKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": f"arn:{partition}:kms:{region}:{account_id}:key/*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"s3.{region}.amazonaws.com",
                    "kms:EncryptionContext:aws:s3:arn": f"arn:{partition}:s3:::{bucket}",
                }
            },
        },
        {
            "Sid": "ListTheMediaBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": f"arn:{partition}:s3:::{bucket}",
        },
        {
            "Sid": "ReadWriteMediaObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"arn:{partition}:s3:::{bucket}/*",
        },
    ]
