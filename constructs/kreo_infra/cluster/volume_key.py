"""The KMS key of a cluster's EBS volumes: node root volumes and persistent volumes."""

from __future__ import annotations

from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.security.kms import RotatingKey

AUTOSCALING_SERVICE_LINKED_ROLE = (
    "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
)
"""The role EC2 Auto Scaling launches managed node groups' instances with."""


def autoscaling_role_arn(account: AwsAccount) -> str:
    """The ARN of the account's EC2 Auto Scaling service-linked role."""
    return (
        f"arn:{account.partition}:iam::{account.account_id}:role/{AUTOSCALING_SERVICE_LINKED_ROLE}"
    )


class VolumeKey(Construct):
    """A rotating KMS key, ``alias/<cluster_name>-ebs``, for the cluster's EBS volumes.

    The node launch template encrypts root volumes with it and the gp3
    StorageClass (``kmsKeyId``) the EBS CSI driver's volumes; AWS Backup copies
    of those volumes stay readable by the account (the key policy's IAM
    statement). EC2 Auto Scaling launches the nodes with its service-linked
    role, whose permissions AWS fixes and which include no customer-managed
    key: the key policy must name it, with the data-key calls and grants for
    AWS resources only ("Required AWS KMS key policy for use with encrypted
    volumes", EC2 Auto Scaling user guide,
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html).
    KMS rejects a key policy naming a role that does not exist yet: the
    service-linked role must exist before this key (the bootstrap creates it).
    The EBS CSI driver needs nothing here: its role's IAM policy names the key
    (``kreo_infra.cluster.policies.ebs_csi_driver``) and the key's first
    statement lets IAM policies grant it.
    """

    def __init__(
        self, scope: Construct, id: str, *, cluster_name: str, account: AwsAccount
    ) -> None:
        super().__init__(scope, id)
        autoscaling = {"AWS": autoscaling_role_arn(account)}
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{cluster_name}-ebs",
            description=f"EBS volumes of {cluster_name}: node root volumes, persistent volumes",
            account=account,
            statements=[
                {
                    "Sid": "AutoScalingEncryptsNodeVolumes",
                    "Effect": "Allow",
                    "Principal": autoscaling,
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "AutoScalingGrantsEbsTheKey",
                    "Effect": "Allow",
                    "Principal": autoscaling,
                    "Action": ["kms:CreateGrant"],
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ],
        )

    @property
    def arn(self) -> str:
        return self.key.arn
