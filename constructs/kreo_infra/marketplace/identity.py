"""What each marketplace service may do in AWS: its Pod Identity role and data access."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.marketplace.database_users import database_reader, database_user
from kreo_infra.security.iam import Statement, policy_document
from kreo_infra.security.pod_identity import PodIdentityRole
from kreo_infra.workloads import APP_NAMESPACE, Workload

DATA_ACCESS_POLICY = "data-access"


@dataclass(frozen=True)
class DataAccess:
    """How the services authenticate to the data tier: IAM, never passwords.

    Each service logs in to PostgreSQL as its own roles
    (:mod:`kreo_infra.marketplace.database_users`): the writer through the RDS
    Proxy (``database_proxy_resource_id``, ``prx-…``), the reader on the read
    replicas (``database_replica_resource_ids``, ``db-…``) or, without
    replicas, through the proxy too. ``cache_arn`` and ``cache_user_arn`` name
    the Valkey replication group and its IAM-authenticated application user.
    """

    database_proxy_resource_id: str
    database_replica_resource_ids: Sequence[str]
    cache_arn: str
    cache_user_arn: str

    def statements(self, account: AwsAccount, service: str) -> list[Statement]:
        prefix = f"arn:{account.partition}:rds-db:{account.region}:{account.account_id}:dbuser:"
        writer, reader = database_user(service), database_reader(service)
        reads = list(self.database_replica_resource_ids) or [self.database_proxy_resource_id]
        return [
            {
                "Sid": "ConnectToPostgresAsItsOwnRoles",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": [
                    f"{prefix}{self.database_proxy_resource_id}/{writer}",
                    *(f"{prefix}{resource_id}/{reader}" for resource_id in reads),
                ],
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
        self.role_arns: dict[str, str] = {}
        self.dependables: list[ITerraformDependable] = []
        """What a release of the services waits for: policies and associations."""
        for service in services:
            statements = data_access.statements(account, service)
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
