"""VPC flow logs into a KMS-encrypted CloudWatch log group, with their own IAM role."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from kreo_infra.errors import PropsError
from kreo_infra.security.kms import RotatingKey

CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
"""The retention periods CloudWatch Logs accepts."""


class EncryptedFlowLogs(Construct):
    """Flow logs of every packet (``ALL``) of a VPC, aggregated per minute.

    The log group is encrypted with its own rotating KMS key, whose policy lets
    CloudWatch Logs use it for this log group only. The delivery role can be
    assumed only by the flow-logs service on behalf of this account, and may
    only write to this log group.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        vpc_id: str,
        retention_days: int,
        region: str,
        account_id: str,
        partition: str,
    ) -> None:
        super().__init__(scope, id)
        if retention_days not in CLOUDWATCH_RETENTION_DAYS:
            raise PropsError(
                "EncryptedFlowLogs",
                "retention_days",
                retention_days,
                f"use one of CloudWatch's periods {CLOUDWATCH_RETENTION_DAYS}",
            )
        log_group_name = f"/aws/vpc/flow-logs/{name}"
        log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-flow-logs",
            description=f"Encrypts the VPC flow logs of {name}",
            account_id=account_id,
            partition=partition,
            statements=[
                {
                    "Sid": "CloudWatchLogsUseForThisLogGroup",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}
                    },
                }
            ],
        )
        self.log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=log_group_name,
            retention_in_days=retention_days,
            kms_key_id=self.key.arn,
        )
        flow_log_arns = f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": flow_log_arns},
                    },
                }
            ],
        }
        self.role = IamRole(
            self,
            "role",
            name=f"{name}-flow-logs",
            description=f"Delivers the VPC flow logs of {name} to CloudWatch Logs",
            assume_role_policy=json.dumps(trust),
        )
        IamRolePolicy(
            self,
            "role-policy",
            name="write-flow-logs",
            role=self.role.id,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [log_group_arn, f"{log_group_arn}:*"],
                        }
                    ],
                }
            ),
        )
        self.flow_log = FlowLog(
            self,
            "flow-log",
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=self.role.arn,
            max_aggregation_interval=60,
            tags={"Name": name},
        )
