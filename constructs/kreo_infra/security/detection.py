"""Detection: the account's audit trail, threat detection, and alarms on tampering.

Four constructs, one concern each, and one that composes them per account:

* :class:`AuditTrail`: a multi-region CloudTrail trail (log file validation,
  KMS) into a private, access-logged bucket nobody but break-glass can delete
  from, recording the writes to the Terraform state bucket as data events;
* :class:`ThreatDetection`: GuardDuty and an IAM Access Analyzer in one region;
* :class:`SecurityAlarms`: a KMS-encrypted SNS topic ``<prefix>-security`` and
  one EventBridge rule per tampering concern on the region's default bus;
* :class:`AccountSecurity`: the above for the account's region and the DR
  region, which is what the bootstrap stack instantiates.

EventBridge sees only the events of its own region: CloudTrail management
events of us-west-2 (where the DR vault, the DR keys and the replicated
backups live) reach the default bus of us-west-2 only, and IAM's (a global
service) reach us-east-1 only
(https://repost.aws/knowledge-center/eventbridge-rule-triggers-iam-single-region).
So every region we keep recovery data in gets its own rules and its own topic
(no forwarding: a DR region's alarms must not depend on the primary region
being up), and the IAM rules exist only where ``global_events`` is set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.accessanalyzer_analyzer import AccessanalyzerAnalyzer
from cdktf_cdktf_provider_aws.cloudtrail import (
    Cloudtrail,
    CloudtrailAdvancedEventSelector,
    CloudtrailAdvancedEventSelectorFieldSelector,
)
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetInputTransformer,
)
from cdktf_cdktf_provider_aws.guardduty_detector import GuarddutyDetector
from cdktf_cdktf_provider_aws.guardduty_detector_feature import GuarddutyDetectorFeature
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from constructs import Construct

from kreo_infra.alerting.topic import AlarmTopic, Publisher
from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.guards import BREAK_GLASS_ROLE
from kreo_infra.security.iam import Statement
from kreo_infra.security.kms import RotatingKey
from kreo_infra.storage.buckets import AccessLogBucket, PrivateBucket

GLOBAL_EVENTS_REGION = "us-east-1"
"""Where EventBridge receives the events of global services (IAM, console sign-in)."""

TRAIL_LOG_RETENTION_DAYS = 365
"""How long trail log files are kept (then expire: the lifecycle is the only deleter)."""

FINDING_PUBLISHING_FREQUENCIES = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")
"""GuardDuty's allowed values (https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CreateDetector.html)."""

GUARDDUTY_FEATURES = (
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
)
"""The GuardDuty protection plans enabled by default, none of which needs an agent:

* ``S3_DATA_EVENTS``: S3 Protection (anomalous reads and deletes of the media
  and state buckets);
* ``EKS_AUDIT_LOGS``: EKS Protection, from the control plane's audit logs
  (GuardDuty reads its own copy; the cluster's logging is unaffected);
* ``EBS_MALWARE_PROTECTION``: agentless scan of a node's volumes, only when
  another finding points at that instance (billed per scan);
* ``RDS_LOGIN_EVENTS``: RDS Protection, anomalous logins to the supported
  databases (https://docs.aws.amazon.com/guardduty/latest/ug/rds-protection.html#rds-pro-supported-db),
  billed per vCPU of those databases only.

Not ``RUNTIME_MONITORING``: it needs GuardDuty's security agent add-on on every
node (a DaemonSet the capacity model and the cluster's pinned add-ons would have
to carry) and is the plan billed per vCPU of every node; EKS audit-log findings
cover API-level abuse without it. Not ``LAMBDA_NETWORK_LOGS``: no Lambda runs
here. Feature names: https://docs.aws.amazon.com/guardduty/latest/APIReference/API_DetectorFeatureConfiguration.html
"""

HIGH_SEVERITY = 7
"""GuardDuty's high-severity band starts at 7.0
(https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html)."""

ACCESS_LOGS_SUFFIX = "-access-logs"
BUCKET_NAME_MAX = 63
"""S3's limit (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""

API_CALL = "AWS API Call via CloudTrail"
CONSOLE_SIGN_IN = "AWS Console Sign In via CloudTrail"


def trail_arn(account: AwsAccount, name: str) -> str:
    """The ARN of trail ``name`` in ``account``'s region (known before the trail exists,
    so the key and bucket policies can name it without a dependency cycle)."""
    return f"arn:{account.partition}:cloudtrail:{account.region}:{account.account_id}:trail/{name}"


class AuditTrail(Construct):
    """Every management event of every region, and the writes to the state bucket.

    * a multi-region trail ``name`` including global service events (IAM, STS,
      sign-in), with log file validation (hourly signed digests: a deleted or
      edited log file is detectable with ``aws cloudtrail validate-logs``);
    * encrypted with a :class:`RotatingKey` only this trail may encrypt with
      (``aws:SourceArn`` and the ``aws:cloudtrail:arn`` encryption context, as
      https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
      documents); reading logs is for IAM policies of the account to grant;
    * into the private, versioned bucket ``bucket`` (SSE-S3 by default: each log
      file is already SSE-KMS with the trail's key), whose policy lets only
      this trail write (``aws:SourceArn``; the two statements of
      https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html),
      denies deleting any object or version to everyone but
      ``break_glass_role`` (log files expire after ``retention_days`` through
      the lifecycle, which is S3's own doing and not a request), and denies
      ``guarded_principals`` (role ARN patterns: the pipeline's) every change
      of the bucket's policy, lifecycle, versioning or logging; every request
      to it is logged to ``<bucket>-access-logs``;
    * data events: writes (``readOnly`` false: PutObject, DeleteObject,
      DeleteObjectVersion…) to objects of ``state_bucket``, so a deleted state
      version is recorded and can alarm (:class:`SecurityAlarms`).

    Object Lock is not used: it must be enabled when a bucket is created and
    would keep every log file past any retention mistake; the deny above and
    the digests give the same evidence without that.
    Trail fields: https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/cloudtrail
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        bucket: str,
        state_bucket: str,
        account: AwsAccount,
        guarded_principals: Sequence[str] = (),
        break_glass_role: str = BREAK_GLASS_ROLE,
        retention_days: int = TRAIL_LOG_RETENTION_DAYS,
        noncurrent_version_expiry_days: int = 30,
    ) -> None:
        if retention_days < 90:
            raise PropsError(
                "AuditTrail", "retention_days", retention_days,
                "use 90 or more (CloudTrail's own event history keeps 90 days)",
            )  # fmt: skip
        if not state_bucket:
            raise PropsError("AuditTrail", "state_bucket", state_bucket, "name the state bucket")
        if len(f"{bucket}{ACCESS_LOGS_SUFFIX}") > BUCKET_NAME_MAX:
            raise PropsError(
                "AuditTrail", "bucket", bucket,
                f"use at most {BUCKET_NAME_MAX - len(ACCESS_LOGS_SUFFIX)} characters "
                f"(its access-log bucket adds {ACCESS_LOGS_SUFFIX!r}; S3 allows {BUCKET_NAME_MAX})",
            )  # fmt: skip
        super().__init__(scope, id)
        partition, account_id = account.partition, account.account_id
        arn = trail_arn(account, name)
        self.trail_arn = arn
        from_this_trail = {"StringEquals": {"aws:SourceArn": arn}}
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-trail",
            description=f"Encrypts the log files of CloudTrail trail {name}",
            account=account,
            # Disabled or deleted, it ends the record and makes the old one
            # unreadable: guarded like the keys of the recovery points.
            guards_recovery=True,
            statements=[
                {
                    "Sid": "CloudTrailEncryptsThisTrailsLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:GenerateDataKey*",
                    "Resource": "*",
                    "Condition": {
                        **from_this_trail,
                        "StringLike": {
                            "kms:EncryptionContext:aws:cloudtrail:arn": (
                                f"arn:{partition}:cloudtrail:*:{account_id}:trail/*"
                            )
                        },
                    },
                },
                {
                    "Sid": "CloudTrailDescribesTheKey",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:DescribeKey",
                    "Resource": "*",
                    "Condition": from_this_trail,
                },
            ],
        )
        bucket_arn = f"arn:{partition}:s3:::{bucket}"
        statements: list[Statement] = [
            {
                "Sid": "CloudTrailChecksTheBucketAcl",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": bucket_arn,
                "Condition": from_this_trail,
            },
            {
                "Sid": "CloudTrailWritesThisTrailsLogs",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
                "Condition": {
                    "StringEquals": {
                        "aws:SourceArn": arn,
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    }
                },
            },
            {
                "Sid": "OnlyBreakGlassDeletesLogs",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "ArnNotEquals": {"aws:PrincipalArn": account.iam_role_arn(break_glass_role)}
                },
            },
        ]
        if guarded_principals:
            statements.append(
                {
                    "Sid": "ThePipelineLeavesTheTrailBucketAlone",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "s3:DeleteBucket",
                        "s3:DeleteBucketPolicy",
                        "s3:PutBucketPolicy",
                        "s3:PutBucketVersioning",
                        "s3:PutLifecycleConfiguration",
                        "s3:PutBucketLogging",
                        "s3:PutEncryptionConfiguration",
                    ],
                    "Resource": bucket_arn,
                    "Condition": {"ArnLike": {"aws:PrincipalArn": list(guarded_principals)}},
                }
            )
        self.access_logs = AccessLogBucket(
            self,
            "access-logs",
            name=f"{bucket}{ACCESS_LOGS_SUFFIX}",
            source_bucket=bucket,
            sid="S3ServerAccessLogsFromTheTrailBucket",
            account=account,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
        )
        self.bucket = PrivateBucket(
            self,
            "bucket",
            name=bucket,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
            expire_current_days=retention_days,
            extra_statements=tuple(statements),
        )
        S3BucketLoggingA(
            self,
            "access-logging",
            bucket=self.bucket.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix=f"{bucket}/",
            # Only once the logging service may write there (see AccessLogBucket).
            depends_on=[self.access_logs.policy],
        )
        state_objects = f"arn:{partition}:s3:::{state_bucket}/"
        self.trail = Cloudtrail(
            self,
            "trail",
            name=name,
            s3_bucket_name=self.bucket.bucket.id,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            kms_key_id=self.key.arn,
            advanced_event_selector=[
                CloudtrailAdvancedEventSelector(
                    name="every-management-event",
                    field_selector=[
                        CloudtrailAdvancedEventSelectorFieldSelector(
                            field="eventCategory", equal_to=["Management"]
                        )
                    ],
                ),
                CloudtrailAdvancedEventSelector(
                    name="writes-to-the-terraform-state",
                    field_selector=[
                        CloudtrailAdvancedEventSelectorFieldSelector(
                            field="eventCategory", equal_to=["Data"]
                        ),
                        CloudtrailAdvancedEventSelectorFieldSelector(
                            field="resources.type", equal_to=["AWS::S3::Object"]
                        ),
                        CloudtrailAdvancedEventSelectorFieldSelector(
                            field="readOnly", equal_to=["false"]
                        ),
                        CloudtrailAdvancedEventSelectorFieldSelector(
                            field="resources.ARN", starts_with=[state_objects]
                        ),
                    ],
                ),
            ],
            # CloudTrail checks at CreateTrail that it may write to the bucket
            # (InsufficientS3BucketPolicyException otherwise).
            depends_on=[self.bucket.policy],
        )

    @property
    def arn(self) -> str:
        return self.trail.arn


class ThreatDetection(Construct):
    """GuardDuty and IAM Access Analyzer in one region (both are regional).

    * a GuardDuty detector, enabled, publishing findings every
      ``finding_publishing_frequency`` (default ``FIFTEEN_MINUTES``, the
      shortest: high-severity findings alarm within minutes), with
      ``features`` enabled (default :data:`GUARDDUTY_FEATURES`; why those and
      not runtime monitoring: see there);
    * an account Access Analyzer ``<name>`` (external access): it reports every
      resource policy and role trust policy that grants access to a principal
      outside this account, which is how "no trust policy names another
      account" is watched (https://docs.aws.amazon.com/IAM/latest/UserGuide/what-is-access-analyzer.html).

    ``region`` places both elsewhere than the provider's region (the DR region).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        finding_publishing_frequency: str = "FIFTEEN_MINUTES",
        features: Sequence[str] = GUARDDUTY_FEATURES,
        region: str | None = None,
    ) -> None:
        if finding_publishing_frequency not in FINDING_PUBLISHING_FREQUENCIES:
            raise PropsError(
                "ThreatDetection", "finding_publishing_frequency", finding_publishing_frequency,
                f"use one of {', '.join(FINDING_PUBLISHING_FREQUENCIES)}",
            )  # fmt: skip
        unknown = sorted(set(features) - set(GUARDDUTY_FEATURES) - {"RUNTIME_MONITORING"})
        if unknown:
            raise PropsError(
                "ThreatDetection", "features", list(features),
                f"use GuardDuty feature names ({', '.join(GUARDDUTY_FEATURES)}, "
                "RUNTIME_MONITORING); unknown: " + ", ".join(unknown),
            )  # fmt: skip
        super().__init__(scope, id)
        self.detector = GuarddutyDetector(
            self,
            "detector",
            enable=True,
            finding_publishing_frequency=finding_publishing_frequency,
            region=region,
        )
        self.features = {
            feature: GuarddutyDetectorFeature(
                self,
                f"feature-{feature.lower().replace('_', '-')}",
                detector_id=self.detector.id,
                name=feature,
                status="ENABLED",
                region=region,
            )
            for feature in features
        }
        self.analyzer = AccessanalyzerAnalyzer(
            self, "access-analyzer", analyzer_name=name, type="ACCOUNT", region=region
        )


@dataclass(frozen=True)
class SecurityRule:
    """One EventBridge rule: what it matches, what its message names.

    ``pattern`` is the event pattern; ``paths`` the input paths of the message
    (``call``, ``principal``, ``resource``; ``region`` and ``account`` are
    always added); ``global_only`` rules exist only where global services'
    events arrive (us-east-1); ``needs_state_bucket`` rules only where the
    state bucket is given.
    """

    id: str
    description: str
    pattern: Mapping[str, Any]
    paths: Mapping[str, str] = field(default_factory=dict)
    global_only: bool = False
    needs_state_bucket: bool = False


def api_calls(source: str, event_source: str, names: Sequence[str], **detail: Any) -> dict:
    """The event pattern of CloudTrail-recorded calls ``names`` to ``event_source``
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html)."""
    return {
        "source": [source],
        "detail-type": [API_CALL],
        "detail": {"eventSource": [event_source], "eventName": list(names), **detail},
    }


def caller(*resources: str) -> dict[str, str]:
    """Input paths of a CloudTrail event: the call, who made it, and the request
    parameters naming the resource (several where the calls of one rule name it
    differently; a path absent from an event leaves its placeholder empty)."""
    return {
        "call": "$.detail.eventName",
        "principal": "$.detail.userIdentity.arn",
        **{f"resource{i or ''}": path for i, path in enumerate(resources)},
    }


def security_rules(*, break_glass_role_arn: str, state_bucket: str | None) -> list[SecurityRule]:
    """Every tampering concern, one rule each (see docs/runbooks/alarms.md, "Security alarms")."""
    rules = [
        SecurityRule(
            "kms-key-tampering",
            "A KMS key was scheduled for deletion, disabled, re-policied or had a grant revoked",
            api_calls(
                "aws.kms",
                "kms.amazonaws.com",
                # Not RetireGrant: RDS and AWS Backup retire their own grants routinely.
                ["ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy", "RevokeGrant"],
            ),
            caller("$.detail.requestParameters.keyId"),
        ),
        SecurityRule(
            "backup-tampering",
            "A recovery point, vault, vault lock, vault access policy or backup plan was "
            "deleted or loosened",
            api_calls(
                "aws.backup",
                "backup.amazonaws.com",
                [
                    # A plan deleted or shortened lets points expire untouched.
                    "DeleteBackupPlan",
                    "UpdateBackupPlan",
                    "DeleteBackupSelection",
                    "DeleteBackupVaultLockConfiguration",
                    "DeleteRecoveryPoint",
                    "DeleteBackupVault",
                    "PutBackupVaultAccessPolicy",
                    "DeleteBackupVaultAccessPolicy",
                    "UpdateRecoveryPointLifecycle",
                    "DisassociateRecoveryPoint",
                ],
            ),
            caller("$.detail.requestParameters.backupVaultName"),
        ),
        SecurityRule(
            "rds-backup-tampering",
            "RDS automated backups, their replication or a snapshot were deleted or stopped",
            api_calls(
                "aws.rds",
                "rds.amazonaws.com",
                [
                    "DeleteDBInstanceAutomatedBackup",
                    "StopDBInstanceAutomatedBackupsReplication",
                    "DeleteDBSnapshot",
                ],
            ),
            caller(
                "$.detail.requestParameters.dBSnapshotIdentifier",
                "$.detail.requestParameters.dbiResourceId",
                "$.detail.requestParameters.sourceDBInstanceArn",
            ),
        ),
        SecurityRule(
            # RDS has no IAM condition key for the retention period, so nothing
            # can deny this call to the deploy role: the alarm is the guard.
            "rds-backup-retention-zero",
            "A database's automated backups were turned off (backup retention set to 0)",
            api_calls(
                "aws.rds",
                "rds.amazonaws.com",
                ["ModifyDBInstance"],
                requestParameters={"backupRetentionPeriod": [0]},
            ),
            caller("$.detail.requestParameters.dBInstanceIdentifier"),
        ),
        SecurityRule(
            "trail-tampering",
            "The audit trail was stopped, deleted or changed",
            api_calls(
                "aws.cloudtrail",
                "cloudtrail.amazonaws.com",
                ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"],
            ),
            caller("$.detail.requestParameters.name"),
        ),
        SecurityRule(
            "waf-disassociated",
            "A WAF web ACL was taken off a load balancer or API",
            api_calls("aws.wafv2", "wafv2.amazonaws.com", ["DisassociateWebACL"]),
            caller("$.detail.requestParameters.resourceArn"),
        ),
        SecurityRule(
            "guardduty-tampering",
            "GuardDuty was deleted or changed, or a findings filter (auto-archive) was written",
            api_calls(
                "aws.guardduty",
                "guardduty.amazonaws.com",
                ["DeleteDetector", "UpdateDetector", "CreateFilter", "UpdateFilter"],
            ),
            caller("$.detail.requestParameters.detectorId"),
        ),
        SecurityRule(
            "access-analyzer-tampering",
            "The Access Analyzer was deleted or given an archive rule",
            api_calls(
                "aws.access-analyzer",
                "access-analyzer.amazonaws.com",
                ["DeleteAnalyzer", "CreateArchiveRule", "UpdateArchiveRule"],
            ),
            caller("$.detail.requestParameters.analyzerName"),
        ),
        SecurityRule(
            "break-glass-used",
            "Someone assumed the break-glass role",
            api_calls(
                "aws.sts",
                "sts.amazonaws.com",
                ["AssumeRole"],
                requestParameters={"roleArn": [break_glass_role_arn]},
            ),
            caller("$.detail.requestParameters.roleArn"),
        ),
        SecurityRule(
            "account-root-activity",
            "The account's root user signed in or called an API",
            {
                "detail-type": [API_CALL, CONSOLE_SIGN_IN],
                "detail": {"userIdentity": {"type": ["Root"]}},
            },
            caller("$.detail.eventSource"),
        ),
        SecurityRule(
            "guardduty-high-findings",
            f"GuardDuty reported a finding of severity {HIGH_SEVERITY} or more",
            {
                "source": ["aws.guardduty"],
                "detail-type": ["GuardDuty Finding"],
                "detail": {"severity": [{"numeric": [">=", HIGH_SEVERITY]}]},
            },
            {
                "call": "$.detail.type",
                "principal": "$.detail.title",
                "resource": "$.detail.resource.resourceType",
            },
        ),
        SecurityRule(
            "backup-copy-failed",
            "An AWS Backup copy job (to the DR or the air-gapped vault) failed or was aborted",
            # Service events (not CloudTrail): "Copy Job State Change", its ``state``
            # (https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html).
            {
                "source": ["aws.backup"],
                "detail-type": ["Copy Job State Change"],
                "detail": {"state": ["FAILED", "ABORTED"]},
            },
            {
                "call": "$.detail.state",
                "principal": "$.detail.resourceType",
                "resource": "$.detail.destinationBackupVaultArn",
            },
        ),
        SecurityRule(
            "access-analyzer-findings",
            "Access Analyzer found a resource or role reachable from outside the account",
            {
                "source": ["aws.access-analyzer"],
                "detail-type": ["Access Analyzer Finding"],
                "detail": {"status": ["ACTIVE"]},
            },
            {
                "call": "$.detail.resourceType",
                "principal": "$.detail.principal.AWS",
                "resource": "$.detail.resource",
            },
        ),
        # IAM is a global service: its events reach EventBridge in us-east-1 only.
        SecurityRule(
            "iam-trust-changes",
            "A role was created or its trust policy changed",
            api_calls("aws.iam", "iam.amazonaws.com", ["CreateRole", "UpdateAssumeRolePolicy"]),
            caller("$.detail.requestParameters.roleName"),
            global_only=True,
        ),
        SecurityRule(
            "identity-provider-created",
            "An OIDC or SAML identity provider was created",
            api_calls(
                "aws.iam",
                "iam.amazonaws.com",
                ["CreateOpenIDConnectProvider", "CreateSAMLProvider"],
            ),
            caller("$.detail.requestParameters.url", "$.detail.requestParameters.name"),
            global_only=True,
        ),
        SecurityRule(
            "permissions-boundary-removed",
            "A permissions boundary was removed from a role or user",
            api_calls(
                "aws.iam",
                "iam.amazonaws.com",
                ["DeleteRolePermissionsBoundary", "DeleteUserPermissionsBoundary"],
            ),
            caller("$.detail.requestParameters.roleName", "$.detail.requestParameters.userName"),
            global_only=True,
        ),
    ]
    if state_bucket:
        bucket = {"bucketName": [state_bucket]}
        rules += [
            SecurityRule(
                # Data events, recorded by AuditTrail's state-bucket selector. A
                # delete with a versionId destroys a state version for good; one
                # without only adds a delete marker (recoverable).
                "state-version-deleted",
                "A version of a Terraform state object was deleted",
                api_calls(
                    "aws.s3",
                    "s3.amazonaws.com",
                    ["DeleteObject"],
                    requestParameters={**bucket, "versionId": [{"exists": True}]},
                ),
                caller("$.detail.requestParameters.key"),
                needs_state_bucket=True,
            ),
            SecurityRule(
                "state-bucket-tampering",
                "The state bucket's policy, versioning or object lock was changed",
                api_calls(
                    "aws.s3",
                    "s3.amazonaws.com",
                    [
                        "PutBucketPolicy",
                        "DeleteBucketPolicy",
                        "PutBucketVersioning",
                        "PutBucketObjectLockConfiguration",
                    ],
                    requestParameters=bucket,
                ),
                caller("$.detail.requestParameters.bucketName"),
                needs_state_bucket=True,
            ),
        ]
    return rules


RULE_NAME_MAX = 64
"""EventBridge's limit on a rule name (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html)."""


def rule_arn(account: AwsAccount, region: str, name: str) -> str:
    """The ARN of EventBridge rule ``name`` on the default bus of ``region``."""
    return f"arn:{account.partition}:events:{region}:{account.account_id}:rule/{name}"


def message(description: str, paths: Mapping[str, str]) -> str:
    """The SNS message of a rule: one line naming the concern, the call, the principal,
    every resource path and the region. The input template is a JSON string whose
    ``<placeholders>`` are the input paths
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html)."""
    resources = " ".join(f"<{key}>" for key in paths if key.startswith("resource"))
    return json.dumps(f"[<region> <account>] {description}: <call> by <principal> on {resources}")


class SecurityAlarms(Construct):
    """A KMS-encrypted SNS topic ``<prefix>-security`` and one EventBridge rule per
    concern of :func:`security_rules`, each publishing a one-line message to it.

    ``emails`` get an email subscription each (confirmed by a link AWS sends).
    Rules are ``<prefix>-security-<concern>`` on the default bus of ``region``
    (default: the provider's, ``account.region``); the IAM rules exist only if
    ``global_events`` (default: the region is us-east-1, where IAM's events
    arrive), the state-bucket rules only with ``state_bucket``. The topic's
    policy lets EventBridge publish for exactly these rules (``aws:SourceArn``),
    and its key lets EventBridge encrypt for them
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).
    Each message names the rule's concern, the call, the principal, the
    resource and the region (an input transformer).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        emails: Sequence[str],
        account: AwsAccount,
        state_bucket: str | None = None,
        break_glass_role: str = BREAK_GLASS_ROLE,
        region: str | None = None,
        global_events: bool | None = None,
    ) -> None:
        if not emails:
            raise PropsError("SecurityAlarms", "emails", list(emails), "name at least one address")
        in_region = region or account.region
        if global_events is None:
            global_events = in_region == GLOBAL_EVENTS_REGION
        if global_events and in_region != GLOBAL_EVENTS_REGION:
            raise PropsError(
                "SecurityAlarms", "global_events", global_events,
                f"global services' events arrive in {GLOBAL_EVENTS_REGION} only, not {in_region}",
            )  # fmt: skip
        name = f"{prefix}-security"
        longest = max(
            len(rule.id) for rule in security_rules(break_glass_role_arn="", state_bucket="x")
        )
        if len(name) + 1 + longest > RULE_NAME_MAX:
            raise PropsError(
                "SecurityAlarms", "prefix", prefix,
                f"use a prefix of at most {RULE_NAME_MAX - len('-security-') - longest} characters "
                f"(rule names are at most {RULE_NAME_MAX})",
            )  # fmt: skip
        super().__init__(scope, id)
        self.rules_spec = [
            rule
            for rule in security_rules(
                break_glass_role_arn=account.iam_role_arn(break_glass_role),
                state_bucket=state_bucket,
            )
            if global_events or not rule.global_only
        ]
        arns = [rule_arn(account, in_region, f"{name}-{r.id}") for r in self.rules_spec]
        # The alarm topic's construct, its publisher these rules (one topic design).
        self.alarm_topic = AlarmTopic(
            self,
            "notifications",
            name=name,
            emails=emails,
            account=account,
            region=region,
            description=f"Encrypts the security alarms of {prefix}",
            # A disabled key silences every alarm, its own included.
            guarded=True,
            publisher=Publisher(
                service="events.amazonaws.com",
                condition={"ArnEquals": {"aws:SourceArn": arns}},
                publish_sid="TheseEventBridgeRulesPublish",
                encrypt_sid="EventBridgeRulesEncryptNotifications",
            ),
        )
        self.key, self.topic = self.alarm_topic.key, self.alarm_topic.topic
        self.rules: dict[str, CloudwatchEventRule] = {}
        for spec in self.rules_spec:
            rule = CloudwatchEventRule(
                self,
                spec.id,
                name=f"{name}-{spec.id}",
                description=spec.description,
                event_pattern=json.dumps(spec.pattern),
                region=region,
            )
            CloudwatchEventTarget(
                self,
                f"{spec.id}-to-topic",
                rule=rule.name,
                arn=self.topic.arn,
                region=region,
                input_transformer=CloudwatchEventTargetInputTransformer(
                    input_paths={"region": "$.region", "account": "$.account", **spec.paths},
                    input_template=message(spec.description, spec.paths),
                ),
            )
            self.rules[spec.id] = rule

    @property
    def arn(self) -> str:
        return self.topic.arn


class AccountSecurity(Construct):
    """Detection for one account: what the bootstrap stack instantiates.

    * :class:`AuditTrail` ``<prefix>-audit`` into ``<trail_bucket>`` (default
      ``<state_bucket>-audit``), recording writes to ``state_bucket``, the
      bucket guarded against ``guarded_principals``;
    * :class:`ThreatDetection` in the account's region and, with
      ``dr_region``, there too (the DR vault, keys and replicated backups);
    * :class:`SecurityAlarms` in the account's region (with the IAM rules when
      that is us-east-1, and the state-bucket rules) and, with ``dr_region``,
      in the DR region with a topic of its own (same name and subscribers).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        account: AwsAccount,
        state_bucket: str,
        alarm_emails: Sequence[str],
        dr_region: str | None = None,
        trail_bucket: str | None = None,
        guarded_principals: Sequence[str] = (),
        break_glass_role: str = BREAK_GLASS_ROLE,
    ) -> None:
        if dr_region is not None and dr_region == account.region:
            raise PropsError(
                "AccountSecurity", "dr_region", dr_region, "use a region other than the account's"
            )
        super().__init__(scope, id)
        self.trail = AuditTrail(
            self,
            "trail",
            name=f"{prefix}-audit",
            bucket=trail_bucket or f"{state_bucket}-audit",
            state_bucket=state_bucket,
            account=account,
            guarded_principals=guarded_principals,
            break_glass_role=break_glass_role,
        )
        self.threats = ThreatDetection(self, "threats", name=f"{prefix}-account")
        self.alarms = SecurityAlarms(
            self,
            "alarms",
            prefix=prefix,
            emails=alarm_emails,
            account=account,
            state_bucket=state_bucket,
            break_glass_role=break_glass_role,
        )
        self.dr_threats = None
        self.dr_alarms = None
        if dr_region is not None:
            self.dr_threats = ThreatDetection(
                self, "dr-threats", name=f"{prefix}-account", region=dr_region
            )
            self.dr_alarms = SecurityAlarms(
                self,
                "dr-alarms",
                prefix=prefix,
                emails=alarm_emails,
                account=account,
                break_glass_role=break_glass_role,
                region=dr_region,
                global_events=False,
            )
