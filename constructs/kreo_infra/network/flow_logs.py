"""VPC flow logs into a KMS-encrypted CloudWatch log group, with their own IAM role."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.security.log_group import EncryptedLogGroup


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
        account: AwsAccount,
    ) -> None:
        super().__init__(scope, id)
        region, account_id, partition = account.region, account.account_id, account.partition
        self.logs = EncryptedLogGroup(
            self,
            "logs",
            name=f"/aws/vpc/flow-logs/{name}",
            retention_days=retention_days,
            key_alias=f"alias/{name}-flow-logs",
            description=f"the VPC flow logs of {name}",
            account=account,
        )
        log_group_arn = self.logs.arn_pattern
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
            log_destination=self.logs.arn,
            iam_role_arn=self.role.arn,
            max_aggregation_interval=60,
            tags={"Name": name},
        )
