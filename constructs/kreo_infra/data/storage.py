"""S3: the product media bucket, its access logs and its copy in the DR region."""

from __future__ import annotations

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_replication_configuration import (
    S3BucketReplicationConfigurationA,
    S3BucketReplicationConfigurationRule,
    S3BucketReplicationConfigurationRuleDeleteMarkerReplication,
    S3BucketReplicationConfigurationRuleDestination,
    S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration,
    S3BucketReplicationConfigurationRuleFilter,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteria,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.security.iam import Statement, policy_document, service_trust
from kreo_infra.security.kms import RotatingKey
from kreo_infra.storage.buckets import (
    AccessLogBucket,
    PrivateBucket,
    cloudfront_decrypts,
    cloudfront_reads_objects,
    replica_bucket_name,
)


class MediaStorage(Construct):
    """The product media bucket, its access-log bucket, and (optionally) its DR copy.

    The media bucket is SSE-KMS with its own rotating key and logs every access
    to the access-log bucket (SSE-S3: S3 server access logging cannot write to
    SSE-KMS buckets). With ``dr_provider`` every object version is replicated,
    deletes included, to ``<media_bucket>-dr`` in the DR region, encrypted
    there with a key of that region. With ``cdn_distribution_arn`` that
    CloudFront distribution (the media CDN of the edge layer) may read and
    decrypt objects of the bucket and of its DR copy, through origin access
    control; nothing else outside the account can.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        media_bucket: str,
        access_logs_bucket: str,
        noncurrent_version_expiry_days: int,
        dr_region: str,
        account: AwsAccount,
        dr_provider: TerraformProvider | None = None,
        cdn_distribution_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._cdn = [cdn_distribution_arn] if cdn_distribution_arn else []
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-media",
            description=f"Encrypts the product media of {name}",
            account=account,
            statements=[cloudfront_decrypts(self._cdn)] if self._cdn else [],
        )
        media_arn = f"arn:{account.partition}:s3:::{media_bucket}"
        self.access_logs = AccessLogBucket(
            self,
            "access-logs",
            name=access_logs_bucket,
            source_bucket=media_bucket,
            sid="S3ServerAccessLogsFromTheMediaBucket",
            account=account,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
        )
        self.media = PrivateBucket(
            self,
            "media",
            name=media_bucket,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
            kms_key_arn=self.key.arn,
            extra_statements=self._cdn_reads(media_arn),
        )
        S3BucketLoggingA(
            self,
            "media-access-logging",
            bucket=self.media.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix=f"{media_bucket}/",
            # Only once the logging service may write there (see AccessLogBucket).
            depends_on=[self.access_logs.policy],
        )
        self.replica = None
        if dr_provider is not None:
            self._replicate(
                name=name,
                media_bucket=media_bucket,
                noncurrent_version_expiry_days=noncurrent_version_expiry_days,
                dr_region=dr_region,
                dr_provider=dr_provider,
                account=account,
            )

    def _cdn_reads(self, bucket_arn: str) -> tuple[Statement, ...]:
        return (cloudfront_reads_objects(bucket_arn, self._cdn),) if self._cdn else ()

    def _replicate(
        self,
        *,
        name: str,
        media_bucket: str,
        noncurrent_version_expiry_days: int,
        dr_region: str,
        dr_provider: TerraformProvider,
        account: AwsAccount,
    ) -> None:
        region = account.region
        self.replica_key = RotatingKey(
            self,
            "replica-key",
            alias=f"alias/{name}-media-dr",
            description=f"Encrypts the DR copy of the product media of {name}",
            account=account,
            statements=[cloudfront_decrypts(self._cdn)] if self._cdn else [],
            provider=dr_provider,
        )
        replica_name = replica_bucket_name(media_bucket)
        self.replica = PrivateBucket(
            self,
            "replica",
            name=replica_name,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
            kms_key_arn=self.replica_key.arn,
            extra_statements=self._cdn_reads(f"arn:{account.partition}:s3:::{replica_name}"),
            provider=dr_provider,
        )
        role = IamRole(
            self,
            "replication-role",
            name=f"{name}-media-replication",
            description=f"Replicates the product media of {name} to {dr_region}",
            assume_role_policy=service_trust("s3.amazonaws.com"),
        )
        source, target = self.media.arn, self.replica.arn
        IamRolePolicy(
            self,
            "replication-role-policy",
            name="replicate-media",
            role=role.id,
            policy=policy_document(
                [
                    {
                        "Sid": "ReadTheSourceConfiguration",
                        "Effect": "Allow",
                        "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                        "Resource": source,
                    },
                    {
                        "Sid": "ReadSourceVersions",
                        "Effect": "Allow",
                        "Action": [
                            "s3:GetObjectVersionForReplication",
                            "s3:GetObjectVersionAcl",
                            "s3:GetObjectVersionTagging",
                        ],
                        "Resource": f"{source}/*",
                    },
                    {
                        "Sid": "WriteReplicas",
                        "Effect": "Allow",
                        "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                        "Resource": f"{target}/*",
                    },
                    {
                        "Sid": "DecryptSource",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt"],
                        "Resource": self.key.arn,
                        "Condition": {
                            "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}
                        },
                    },
                    {
                        "Sid": "EncryptReplicas",
                        "Effect": "Allow",
                        "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                        "Resource": self.replica_key.arn,
                        "Condition": {
                            "StringEquals": {"kms:ViaService": f"s3.{dr_region}.amazonaws.com"}
                        },
                    },
                ]
            ),
        )
        S3BucketReplicationConfigurationA(
            self,
            "replication",
            bucket=self.media.bucket.id,
            role=role.arn,
            rule=[
                S3BucketReplicationConfigurationRule(
                    id="media-to-dr",
                    status="Enabled",
                    priority=1,
                    filter=S3BucketReplicationConfigurationRuleFilter(prefix=""),
                    delete_marker_replication=S3BucketReplicationConfigurationRuleDeleteMarkerReplication(
                        status="Enabled"
                    ),
                    source_selection_criteria=S3BucketReplicationConfigurationRuleSourceSelectionCriteria(
                        sse_kms_encrypted_objects=S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects(
                            status="Enabled"
                        )
                    ),
                    destination=S3BucketReplicationConfigurationRuleDestination(
                        bucket=target,
                        storage_class="STANDARD",
                        encryption_configuration=S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration(
                            replica_kms_key_id=self.replica_key.arn
                        ),
                    ),
                )
            ],
            depends_on=[self.media.versioning, self.replica.versioning],
        )
