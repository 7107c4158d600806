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


def load_balancer_controller(partition: str) -> list[Statement]:
    """The AWS Load Balancer Controller's published policy (controller v3.5).

    Kept verbatim (``aws-load-balancer-controller.json``, from the controller's
    ``docs/install/iam_policy.json``) so an upgrade is a file diff; its writes
    are scoped by the ``elbv2.k8s.aws/cluster`` tag the controller puts on
    everything it creates. Update it with the chart version.
    """
    text = (_HERE / "aws-load-balancer-controller.json").read_text(encoding="utf-8")
    return json.loads(text.replace("arn:aws:", f"arn:{partition}:"))["Statement"]


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
