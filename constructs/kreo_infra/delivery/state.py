"""The S3 bucket that holds every stack's Terraform state."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.data.storage import AccessLogBucket, PrivateBucket
from kreo_infra.security.kms import RotatingKey


def state_key_alias(bucket: str) -> str:
    """The KMS alias of the state bucket's key (created with the bucket by
    ``kreo-bootstrap``); the S3 backend accepts an alias name as ``kms_key_id``."""
    return f"alias/{bucket}"


class StateBucket(Construct):
    """Terraform state: private, versioned, SSE-KMS, TLS-only, access-logged.

    Locking is S3-native (Terraform >= 1.10 writes a ``.tflock`` object beside
    each state object), so there is no DynamoDB table. Noncurrent state
    versions are kept ``noncurrent_version_expiry_days`` (the rollback
    horizon). Every request is logged to ``<name>-access-logs`` (SSE-S3, as S3
    server access logging requires), kept a year.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        noncurrent_version_expiry_days: int,
        account: AwsAccount,
    ) -> None:
        super().__init__(scope, id)
        self.key = RotatingKey(
            self,
            "key",
            alias=state_key_alias(name),
            description=f"Encrypts the Terraform state in {name}",
            account=account,
        )
        self.access_logs = AccessLogBucket(
            self,
            "access-logs",
            name=f"{name}-access-logs",
            source_bucket=name,
            sid="S3ServerAccessLogsFromTheStateBucket",
            account=account,
            noncurrent_version_expiry_days=30,
        )
        self.state = PrivateBucket(
            self,
            "bucket",
            name=name,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
            kms_key_arn=self.key.arn,
        )
        S3BucketLoggingA(
            self,
            "access-logging",
            bucket=self.state.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix=f"{name}/",
            # Only once the logging service may write there (see AccessLogBucket).
            depends_on=[self.access_logs.policy],
        )

    @property
    def arn(self) -> str:
        return self.state.arn

    @property
    def name(self) -> str:
        return self.state.name
