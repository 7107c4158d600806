"""Names and statements the recovery guardrails share: the break-glass role, the
pipeline's permissions boundary, and the key-policy guard of keys that encrypt
recovery points.

A building block: KMS keys (security.kms), vaults (backup), the state bucket and
the detection topic name them, and the pipeline's own guardrails
(kreo_infra.delivery.guardrails) deny around them.
"""

from __future__ import annotations

from kreo_infra.aws import AwsAccount
from kreo_infra.security.iam import Statement

BREAK_GLASS_ROLE = "kreo-break-glass"
"""The only role the recovery guardrails exempt (its use alarms)."""

BOUNDARY_POLICY = "kreo-pipeline-boundary"
"""The customer-managed policy every role the stacks create carries as its boundary."""

GUARDS_TAG = "kreo:guards"
"""Tag key on KMS keys whose loss would lose recovery points; value :data:`GUARDS_RECOVERY`."""

GUARDS_RECOVERY = "recovery"

KEY_DESTRUCTION: tuple[str, ...] = (
    # Each makes the key, and so every recovery point it encrypts, unusable:
    # deletion (the API accepts a 7-day window whatever the configuration says),
    # disabling, a policy that locks everyone out, and revoking the grants RDS
    # and AWS Backup use. Not here: kms:DeleteImportedKeyMaterial (our keys are
    # AWS_KMS origin, with no imported material), kms:UpdateKeyDescription and
    # kms:DisableKeyRotation (the key stays usable; old material is kept).
    "kms:DisableKey",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
)


def break_glass_arn(account: AwsAccount) -> str:
    """The ARN of :data:`BREAK_GLASS_ROLE` in ``account``."""
    return account.iam_role_arn(BREAK_GLASS_ROLE)


def boundary_arn(account: AwsAccount) -> str:
    """The ARN of :data:`BOUNDARY_POLICY` in ``account`` (a literal: the boundary names
    itself in its own statements, which a reference to the resource could not)."""
    return f"arn:{account.partition}:iam::{account.account_id}:policy/{BOUNDARY_POLICY}"


def guarded_key_statement(account: AwsAccount) -> Statement:
    """Key-policy statement of a key that guards recovery: only the break-glass role
    and the account's root user may delete, disable, re-policy it or revoke its grants.

    Key policies may name a role that does not exist yet only inside a condition,
    hence ``aws:PrincipalArn`` rather than ``Principal``
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
    The root user stays exempt so the key can never become unmanageable.
    """
    return {
        "Sid": "OnlyBreakGlassDestroysRecovery",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": list(KEY_DESTRUCTION),
        "Resource": "*",
        "Condition": {
            "ArnNotEquals": {
                "aws:PrincipalArn": [
                    break_glass_arn(account),
                    f"arn:{account.partition}:iam::{account.account_id}:root",
                ]
            }
        },
    }
