"""Permission statements of the cluster's own workloads, as data: the EBS CSI
driver (an EKS managed add-on) and the product service's media access. The
Helm add-ons' statements live with their add-on (kreo_infra.platform.addons).

Every statement is scoped to ARNs (or, where the API only accepts ``*``, to
tags or request conditions); tests parse every document and list each
remaining ``"Resource": "*"`` with the reason AWS leaves no narrower choice.
"""

from __future__ import annotations

from kreo_infra.security.iam import Statement

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
