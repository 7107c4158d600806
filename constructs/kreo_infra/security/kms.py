"""A customer-managed KMS key with rotation and a key policy that names its users."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.guards import GUARDS_RECOVERY, GUARDS_TAG, guarded_key_statement

DEFAULT_DELETION_WINDOW_DAYS = 30
"""The longest window AWS allows: a key scheduled for deletion by mistake can be rescued."""


class RotatingKey(Construct):
    """A symmetric KMS key with yearly rotation, an alias, and an explicit key policy.

    The policy always lets the account's IAM administer and use the key through
    IAM policies (AWS's default statement, so the key can never become
    unmanageable); ``statements`` add the service principals or roles that use
    it, each scoped with conditions by the caller. ``provider`` places the key
    in another region (e.g. the DR region's provider), as does ``region``
    (the AWS provider's per-resource region; None keeps the provider's).

    ``guards_recovery`` (default False: the policy above and nothing more): the
    key encrypts recovery points (RDS automated backups and their DR replicas,
    snapshot copies, backup vaults). Its policy then denies deleting, disabling,
    re-policying it and revoking its grants to everyone but the break-glass role
    and the root user (:func:`kreo_infra.security.guards.guarded_key_statement`),
    and it is tagged ``kreo:guards = recovery`` for the IAM denials and detection.
    The key's creator cannot change its policy afterwards, so the key is created
    with ``bypass_policy_lockout_safety_check``; later policy changes are the
    break-glass role's.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        description: str,
        account: AwsAccount,
        statements: Sequence[Mapping[str, Any]] = (),
        deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS,
        provider: TerraformProvider | None = None,
        region: str | None = None,
        guards_recovery: bool = False,
    ) -> None:
        super().__init__(scope, id)
        if not alias.startswith("alias/") or alias.startswith("alias/aws/"):
            raise PropsError(
                "RotatingKey", "alias", alias, "use alias/<name> (alias/aws/ is reserved)"
            )
        if not 7 <= deletion_window_days <= 30:
            raise PropsError(
                "RotatingKey", "deletion_window_days", deletion_window_days, "use 7 to 30"
            )
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{account.partition}:iam::{account.account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                *statements,
                *([guarded_key_statement(account)] if guards_recovery else []),
            ],
        }
        self.key = KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=json.dumps(policy),
            provider=provider,
            region=region,
            # Without the bypass, CreateKey (and PutKeyPolicy) refuse a policy that
            # does not let the caller call PutKeyPolicy again
            # (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html,
            # BypassPolicyLockoutSafetyCheck); the provider sends the flag on both
            # (internal/service/kms/key.go resourceKeyCreate, updateKeyPolicy in
            # hashicorp/terraform-provider-aws). The root user stays able to.
            bypass_policy_lockout_safety_check=True if guards_recovery else None,
            tags={GUARDS_TAG: GUARDS_RECOVERY} if guards_recovery else None,
        )
        KmsAlias(
            self,
            "alias",
            name=alias,
            target_key_id=self.key.key_id,
            provider=provider,
            region=region,
        )

    @property
    def arn(self) -> str:
        return self.key.arn
