"""Secrets Manager containers for the application's third-party credentials."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.secretsmanager_secret import (
    SecretsmanagerSecret,
    SecretsmanagerSecretReplica,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.kms import RotatingKey


class ApplicationSecrets(Construct):
    """One secret per name under ``prefix``, KMS-encrypted, with no value.

    Terraform creates the containers only; values are written out of band
    (``aws secretsmanager put-secret-value``, docs/operations.md), so they never
    pass through config, synthesized JSON or Terraform state. A deleted secret
    stays recoverable for ``recovery_window_days``. With ``dr_provider`` each
    secret is replicated to ``dr_region``, encrypted there with a key of that
    region.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        prefix: str,
        names: Sequence[str],
        recovery_window_days: int,
        account: AwsAccount,
        dr_region: str,
        dr_provider: TerraformProvider | None = None,
    ) -> None:
        super().__init__(scope, id)
        if len(set(names)) != len(names):
            raise PropsError("ApplicationSecrets", "names", list(names), "list each secret once")
        if not prefix.endswith("/"):
            raise PropsError("ApplicationSecrets", "prefix", prefix, "end it with '/'")
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-secrets",
            description=f"Encrypts the application secrets of {name}",
            account=account,
        )
        replica_key = (
            RotatingKey(
                self,
                "replica-key",
                alias=f"alias/{name}-secrets-dr",
                description=f"Encrypts the DR replicas of the application secrets of {name}",
                provider=dr_provider,
                account=account,
            )
            if dr_provider
            else None
        )
        self.secrets = {
            secret: SecretsmanagerSecret(
                self,
                secret.replace("/", "-"),
                name=f"{prefix}{secret}",
                description=f"{secret} of {name}; value set out of band",
                kms_key_id=self.key.arn,
                recovery_window_in_days=recovery_window_days,
                replica=[SecretsmanagerSecretReplica(region=dr_region, kms_key_id=replica_key.arn)]
                if replica_key
                else None,
            )
            for secret in names
        }
