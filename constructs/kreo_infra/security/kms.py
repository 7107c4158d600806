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
