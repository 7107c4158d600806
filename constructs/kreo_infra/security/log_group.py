"""A CloudWatch log group encrypted with its own rotating KMS key."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.kms import RotatingKey

CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
"""The retention periods CloudWatch Logs accepts."""


class EncryptedLogGroup(Construct):
    """Log group ``name`` kept ``retention_days``, encrypted with a key of its own.

    The key's policy lets the CloudWatch Logs service of ``region`` use it for
    this log group only (the encryption-context condition), so the key cannot
    be borrowed to decrypt any other group. ``region`` places group and key in
    another region than the stack's (e.g. us-east-1 for CloudFront's WAF logs).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        retention_days: int,
        key_alias: str,
        description: str,
        account: AwsAccount,
        region: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if retention_days not in CLOUDWATCH_RETENTION_DAYS:
            raise PropsError(
                "EncryptedLogGroup",
                "retention_days",
                retention_days,
                f"use one of CloudWatch's periods {CLOUDWATCH_RETENTION_DAYS}",
            )
        placement = region
        region = region or account.region
        self.arn_pattern = (
            f"arn:{account.partition}:logs:{region}:{account.account_id}:log-group:{name}"
        )
        self.key = RotatingKey(
            self,
            "key",
            alias=key_alias,
            description=f"Encrypts {description}",
            account=account,
            region=placement,
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
                        "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": self.arn_pattern}
                    },
                }
            ],
        )
        self.group = CloudwatchLogGroup(
            self,
            "group",
            name=name,
            retention_in_days=retention_days,
            kms_key_id=self.key.arn,
            region=placement,
        )

    @property
    def arn(self) -> str:
        return self.group.arn
