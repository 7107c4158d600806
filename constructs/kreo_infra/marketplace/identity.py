"""What each marketplace service may do in AWS: its Pod Identity role and data access."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.cluster.workload_identity import APP_NAMESPACE, PodIdentityRole, Workload
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import Statement, policy_document

DATA_ACCESS_POLICY = "data-access"


@dataclass(frozen=True)
class DataAccess:
    """How the services authenticate to the data tier: IAM, never passwords.

    ``database_proxy_resource_id`` (``prx-…``) and ``database_user`` name the
    RDS Proxy login (the proxy requires IAM authentication); ``cache_arn`` and
    ``cache_user_arn`` the Valkey replication group and its IAM-authenticated
    application user.
    """

    database_proxy_resource_id: str
    database_user: str
    cache_arn: str
    cache_user_arn: str

    def statements(self, account: AwsAccount) -> list[Statement]:
        dbuser = (
            f"arn:{account.partition}:rds-db:{account.region}:{account.account_id}:dbuser:"
            f"{self.database_proxy_resource_id}/{self.database_user}"
        )
        return [
            {
                "Sid": "ConnectToPostgresThroughTheProxy",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": dbuser,
            },
            {
                "Sid": "ConnectToValkeyAsTheAppUser",
                "Effect": "Allow",
                "Action": "elasticache:Connect",
                "Resource": [self.cache_arn, self.cache_user_arn],
            },
        ]


class ServiceIdentities(Construct):
    """One IAM role per marketplace service, bound to its service account, with
    IAM access to the database proxy and the cache.

    A service whose role another layer already created (``existing_roles``:
    service → role name; the product service's, which the data layer's search
    domain names) gets the data-access policy added to that role; every other
    service gets a new Pod Identity role of its own. ``role_arns`` maps every
    service to its role.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        services: Sequence[str],
        cluster_name: str,
        cluster_arn: str,
        account: AwsAccount,
        data_access: DataAccess,
        existing_roles: Mapping[str, tuple[str, str]] | None = None,
        namespace: str = APP_NAMESPACE,
    ) -> None:
        existing_roles = dict(existing_roles or {})
        unknown = sorted(set(existing_roles) - set(services))
        if unknown:
            raise PropsError(
                "ServiceIdentities", "existing_roles", unknown, f"name services of {list(services)}"
            )
        super().__init__(scope, id)
        statements = data_access.statements(account)
        self.role_arns: dict[str, str] = {}
        self.dependables: list[ITerraformDependable] = []
        """What a release of the services waits for: policies and associations."""
        for service in services:
            if service in existing_roles:
                role_name, role_arn = existing_roles[service]
                policy = IamRolePolicy(
                    self,
                    f"{service}-data-access",
                    name=DATA_ACCESS_POLICY,
                    role=role_name,
                    policy=policy_document(statements),
                )
                self.role_arns[service] = role_arn
                self.dependables.append(policy)
                continue
            role = PodIdentityRole(
                self,
                service,
                workload=Workload(service, namespace, service),
                statements=statements,
                cluster_name=cluster_name,
                cluster_arn=cluster_arn,
                account=account,
            )
            self.role_arns[service] = role.arn
            self.dependables.extend(role.dependables)
