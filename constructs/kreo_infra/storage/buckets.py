"""Private S3 buckets (encrypted, versioned, public access blocked, TLS only), the
access-log buckets they log to, and the statements CloudFront needs to read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.config.models import DR_COPY_SUFFIX
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import Statement, policy_document

ABORT_MULTIPART_DAYS = 7
ACCESS_LOG_RETENTION_DAYS = 365


def replica_bucket_name(media_bucket: str) -> str:
    """The DR copy of ``media_bucket`` (in the DR region)."""
    return f"{media_bucket}{DR_COPY_SUFFIX}"


def deny_insecure_transport(bucket_arn: str) -> Statement:
    """The statement every bucket policy here starts with: no plain-HTTP access."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def server_access_logs_from(
    *, logs_bucket: str, source_bucket: str, account: AwsAccount, sid: str
) -> Statement:
    """Bucket-policy statement of a log bucket: S3 server access logging may write
    the logs of ``source_bucket`` (this account's) into ``logs_bucket``, nothing else."""
    partition = account.partition
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:{partition}:s3:::{logs_bucket}/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:s3:::{source_bucket}"},
            "StringEquals": {"aws:SourceAccount": account.account_id},
        },
    }


def s3_origin_domain(bucket: str, region: str) -> str:
    """The regional REST endpoint of ``bucket`` (what origin access control signs for)."""
    return f"{bucket}.s3.{region}.amazonaws.com"


def cloudfront_reads_objects(bucket_arn: str, distribution_arns: Sequence[str]) -> Statement:
    """Bucket-policy statement: only these distributions (through OAC) read objects."""
    return {
        "Sid": "CloudFrontDistributionsReadObjects",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": list(distribution_arns)}},
    }


def cloudfront_decrypts(distribution_arns: Sequence[str]) -> Statement:
    """Key-policy statement: only these distributions decrypt the objects they serve."""
    return {
        "Sid": "CloudFrontDistributionsDecrypt",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"AWS:SourceArn": list(distribution_arns)}},
    }


class PrivateBucket(Construct):
    """A versioned bucket nobody outside the account can reach.

    All public access blocked, ACLs disabled (bucket owner enforced), plain
    HTTP denied, versioning on, encryption with ``kms_key_arn`` and a bucket key
    (or SSE-S3 without one), and a lifecycle expiring noncurrent versions after
    ``noncurrent_version_expiry_days`` and aborting stale multipart uploads.
    ``extra_statements`` extend the bucket policy. ``object_ownership``
    ``BucketOwnerPreferred`` keeps ACLs usable, for the one writer that still
    needs them (CloudFront's standard access logs); public ACLs stay blocked.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        noncurrent_version_expiry_days: int,
        kms_key_arn: str | None = None,
        expire_current_days: int | None = None,
        extra_statements: tuple[Statement, ...] = (),
        provider: TerraformProvider | None = None,
        object_ownership: Literal[
            "BucketOwnerEnforced", "BucketOwnerPreferred"
        ] = "BucketOwnerEnforced",
    ) -> None:
        if object_ownership not in ("BucketOwnerEnforced", "BucketOwnerPreferred"):
            raise PropsError(
                "PrivateBucket", "object_ownership", object_ownership,
                "use BucketOwnerEnforced or BucketOwnerPreferred",
            )  # fmt: skip
        super().__init__(scope, id)
        self.bucket = S3Bucket(self, "bucket", bucket=name, force_destroy=False, provider=provider)
        bucket_id = self.bucket.id
        S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            provider=provider,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership=object_ownership),
            provider=provider,
        )
        self.versioning = S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
            provider=provider,
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms" if kms_key_arn else "AES256",
                        kms_master_key_id=kms_key_arn,
                    ),
                    bucket_key_enabled=bool(kms_key_arn),
                )
            ],
            provider=provider,
        )
        self.policy = S3BucketPolicy(
            self,
            "policy",
            bucket=bucket_id,
            policy=policy_document([deny_insecure_transport(self.bucket.arn), *extra_statements]),
            provider=provider,
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-and-abort-uploads",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=noncurrent_version_expiry_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=ABORT_MULTIPART_DAYS
                        )
                    ],
                    expiration=[
                        S3BucketLifecycleConfigurationRuleExpiration(days=expire_current_days)
                    ]
                    if expire_current_days
                    else None,
                )
            ],
            depends_on=[self.versioning],
            provider=provider,
        )

    @property
    def arn(self) -> str:
        return self.bucket.arn

    @property
    def name(self) -> str:
        return self.bucket.bucket


class AccessLogBucket(PrivateBucket):
    """A :class:`PrivateBucket` for S3 server access logs of ``source_bucket``.

    SSE-S3 (server access logging cannot write to SSE-KMS buckets); the bucket
    policy lets the logging service write the logs of ``source_bucket`` in this
    account and nothing else; log objects expire after ``retention_days``.
    ``sid`` names the policy statement (``S3ServerAccessLogsFromThe<Source>Bucket``).
    The source bucket's ``aws_s3_bucket_logging`` must depend on :attr:`policy`:
    S3 checks at ``PutBucketLogging`` that the logging service may write to the
    target (``InvalidTargetBucketForLogging`` otherwise), and logs written before
    the grant exists are lost.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        source_bucket: str,
        sid: str,
        account: AwsAccount,
        noncurrent_version_expiry_days: int,
        retention_days: int = ACCESS_LOG_RETENTION_DAYS,
        provider: TerraformProvider | None = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            provider=provider,
            name=name,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
            expire_current_days=retention_days,
            extra_statements=(
                server_access_logs_from(
                    logs_bucket=name, source_bucket=source_bucket, account=account, sid=sid
                ),
            ),
        )
