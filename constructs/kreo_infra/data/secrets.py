"""Secrets Manager containers for the application's third-party credentials."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_secret import DataAwsSecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret import (
    SecretsmanagerSecret,
    SecretsmanagerSecretReplica,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.generated import GeneratedPassword, WriteOnlySecretValue, json_with
from kreo_infra.security.kms import RotatingKey

DATABASE_MASTER_SECRET = "database/master"  # noqa: S105 - a secret's name
"""The PostgreSQL master user's secret, below the environment's prefix (data layer)."""


@dataclass(frozen=True)
class GeneratedSecret:
    """A secret whose value Terraform generates: JSON of ``fields`` plus a random
    ``password_key``, written once per ``version`` with write-only arguments."""

    fields: Mapping[str, str]
    password_key: str
    version: int = 1


class ApplicationSecrets(Construct):
    """One secret per name under ``prefix``, KMS-encrypted.

    Terraform creates the containers; values are written out of band (``aws
    secretsmanager put-secret-value``, docs/operations.md), so they never pass
    through config, synthesized JSON or Terraform state. The ``generated`` ones
    (Grafana's admin password) get a value Terraform generates at apply time
    and writes with a write-only argument: never in JSON or state either. A deleted secret
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
        generated: Mapping[str, GeneratedSecret] | None = None,
    ) -> None:
        generated = dict(generated or {})
        unknown = sorted(set(generated) - set(names))
        if unknown:
            raise PropsError(
                "ApplicationSecrets", "generated", unknown, f"name secrets of {list(names)}"
            )
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
        self.replica_key = replica_key = (
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
        for secret, shape in generated.items():
            WriteOnlySecretValue(
                self,
                f"{secret.replace('/', '-')}-value",
                secret_id=self.secrets[secret].id,
                value=json_with(
                    shape.fields,
                    secret_key=shape.password_key,
                    password=GeneratedPassword(self, f"{secret.replace('/', '-')}-password"),
                ),
                version=shape.version,
            )


class ReplicatedSecrets(Construct):
    """The secrets ``names`` under ``prefix`` as they already exist in this region:
    the replicas another environment's :class:`ApplicationSecrets` keeps here (a
    recovery environment's secrets). Looked up, never created or written: a replica
    takes no value of its own, and its primary is in the lost region (promote one
    with ``aws secretsmanager stop-replication-to-replica`` to write it;
    docs/runbooks/disaster-recovery.md)."""

    def __init__(self, scope: Construct, id: str, *, prefix: str, names: Sequence[str]) -> None:
        if not prefix.endswith("/"):
            raise PropsError("ReplicatedSecrets", "prefix", prefix, "end it with '/'")
        if len(set(names)) != len(names):
            raise PropsError("ReplicatedSecrets", "names", list(names), "list each secret once")
        super().__init__(scope, id)
        self.secrets = {
            secret: DataAwsSecretsmanagerSecret(
                self, secret.replace("/", "-"), name=f"{prefix}{secret}"
            )
            for secret in names
        }
