"""The S3 bucket that holds every stack's Terraform state."""

from __future__ import annotations

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_object_lock_configuration import (
    S3BucketObjectLockConfigurationA,
    S3BucketObjectLockConfigurationRuleA,
    S3BucketObjectLockConfigurationRuleDefaultRetentionA,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.delivery.guardrails import STATE_DESTRUCTION, break_glass_arn
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import Statement
from kreo_infra.security.kms import RotatingKey
from kreo_infra.storage.buckets import AccessLogBucket, PrivateBucket

STATE_LOCK_MODE = "GOVERNANCE"
"""Object Lock mode of state versions. GOVERNANCE, not COMPLIANCE: a version that
holds a leaked secret can still be deleted, by the break-glass role alone (the
bucket policy and the SCPs deny ``s3:BypassGovernanceRetention`` to everyone
else, the root user included); COMPLIANCE would keep it for the whole period
whoever asks."""


def state_versions_stay(bucket_arn: str, account: AwsAccount) -> Statement:
    """Bucket-policy statement: only the break-glass role may delete state versions,
    bypass their retention or change the bucket's lock, versioning, lifecycle or
    policy (the root user can always delete a bucket policy; the SCPs cover it)."""
    return {
        "Sid": "StateVersionsStay",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": list(STATE_DESTRUCTION),
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": break_glass_arn(account)}},
    }


def state_key_alias(bucket: str) -> str:
    """The KMS alias of the state bucket's key (created with the bucket by
    ``kreo-<env>-bootstrap``); the S3 backend accepts an alias name as ``kms_key_id``."""
    return f"alias/{bucket}"


class StateBucket(Construct):
    """Terraform state: private, versioned, SSE-KMS, TLS-only, access-logged, locked.

    Locking is S3-native (Terraform >= 1.10 writes a ``.tflock`` object beside
    each state object), so there is no DynamoDB table. Noncurrent state
    versions are kept ``noncurrent_version_expiry_days`` (the rollback
    horizon). Every request is logged to ``<name>-access-logs`` (SSE-S3, as S3
    server access logging requires), kept a year.

    Every state version is kept by S3 Object Lock (:data:`STATE_LOCK_MODE`) for
    ``noncurrent_version_expiry_days`` from its creation, and the bucket policy
    denies deleting versions, bypassing the retention and changing the lock,
    versioning, lifecycle or policy to all but the break-glass role: apply the
    bootstrap as that role once the policy exists. ``provider`` places it in
    another region (a recovery environment's state, made in peacetime). Terraform's S3 backend
    writes state and ``.tflock`` objects with a SHA-256 checksum, which Object
    Lock requires (hashicorp/terraform#33940, #36120; Terraform >= 1.10.1),
    and releases a lock with a DeleteObject without version id, which on a
    versioned bucket only adds a delete marker (internal/backend/remote-state/s3
    client.go unlockWithFile): locking keeps working, each lock leaves a small
    locked version. The key guards recovery (``guards_recovery``). ``provider``
    (default: the stack's) places bucket, key and logs in another region: a
    recovery environment's state, made in peacetime by the account's bootstrap.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        noncurrent_version_expiry_days: int,
        account: AwsAccount,
        provider: TerraformProvider | None = None,
    ) -> None:
        if not 1 <= noncurrent_version_expiry_days <= 36500:
            raise PropsError(
                "StateBucket", "noncurrent_version_expiry_days",
                noncurrent_version_expiry_days, "use 1 to 36500 (Object Lock's limit)",
            )  # fmt: skip
        super().__init__(scope, id)
        self.key = RotatingKey(
            self,
            "key",
            alias=state_key_alias(name),
            description=f"Encrypts the Terraform state in {name}",
            account=account,
            guards_recovery=True,
            provider=provider,
        )
        self.access_logs = AccessLogBucket(
            self,
            "access-logs",
            name=f"{name}-access-logs",
            source_bucket=name,
            sid="S3ServerAccessLogsFromTheStateBucket",
            account=account,
            noncurrent_version_expiry_days=30,
            provider=provider,
        )
        self.state = PrivateBucket(
            self,
            "bucket",
            name=name,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
            kms_key_arn=self.key.arn,
            extra_statements=(
                state_versions_stay(f"arn:{account.partition}:s3:::{name}", account),
            ),
            provider=provider,
        )
        # Not aws_s3_bucket.object_lock_enabled, which forces a new bucket; this
        # resource enables Object Lock on an existing versioned bucket too (AWS since
        # 2023-11; hashicorp/terraform-provider-aws#35374) and the bucket's computed
        # object_lock_enabled then reads back true without a diff.
        self.object_lock = S3BucketObjectLockConfigurationA(
            self,
            "object-lock",
            bucket=self.state.bucket.id,
            rule=S3BucketObjectLockConfigurationRuleA(
                default_retention=S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                    mode=STATE_LOCK_MODE, days=noncurrent_version_expiry_days
                )
            ),
            depends_on=[self.state.versioning],
            provider=provider,
        )
        # The policy locks everyone but the break-glass role out of the lock,
        # versioning and lifecycle: created last, so the first apply (by any
        # administrator) sets them first.
        lifecycle = self.state.node.find_child("lifecycle")
        # (An override: the resource exists already, and depends_on takes plain
        # addresses in Terraform JSON, not the ${...} references fqn renders.)
        self.state.policy.add_override(
            "depends_on",
            [
                f"{r.terraform_resource_type}.{r.friendly_unique_id}"
                for r in (self.state.versioning, self.object_lock, lifecycle)
            ],
        )
        S3BucketLoggingA(
            self,
            "access-logging",
            bucket=self.state.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix=f"{name}/",
            # Only once the logging service may write there (see AccessLogBucket).
            depends_on=[self.access_logs.policy],
            provider=provider,
        )

    @property
    def arn(self) -> str:
        return self.state.arn

    @property
    def name(self) -> str:
        return self.state.name
