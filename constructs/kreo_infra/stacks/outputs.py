"""What each stack publishes: the only attributes a later layer may read.

Like aws-cdk-lib's ``ICluster``, each frozen dataclass below is a stack's whole
contract with the layers after it: a consumer takes the dataclass, never the
stack, so its signature says exactly what it reads (``ObservabilityStack(...,
data: DataOutputs)``). Values are Terraform tokens; cdktf turns each one a
consumer uses into a cross-stack output there and a remote-state lookup here.

:meth:`KreoStack.publish <kreo_infra.stacks.kreo_stack.KreoStack.publish>` also
writes every field as a plain Terraform output for operators (``terraform
output``), named after the field in kebab case unless the field's metadata says
otherwise: ``output(name)`` renames it, ``INTERNAL`` keeps it out (what only
other stacks read: identifiers whose output names would add nothing, or values
derived from others). A field whose value is ``None`` is not written.

Output names are read by runbooks, workflows and people: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OUTPUT_KEY = "output"


def output(name: str) -> dict[str, str]:
    """Field metadata: written as the Terraform output ``name`` (not its kebab-cased name)."""
    return {OUTPUT_KEY: name}


INTERNAL: dict[str, None] = {OUTPUT_KEY: None}
"""Field metadata: other stacks read it, but it is no Terraform output of its own."""


@dataclass(frozen=True)
class BaseOutputs:
    """``kreo-<env>-base``."""

    resource_group_arn: str


@dataclass(frozen=True)
class NetworkOutputs:
    """``kreo-<env>-network``: the VPC every other layer runs in."""

    vpc_id: str
    vpc_cidr: str
    availability_zone_ids: list[str]
    """The configured zone ids, in order; the subnet lists follow it."""
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    database_subnet_ids: list[str]
    public_subnet_cidrs: list[str]
    private_subnet_cidrs: list[str]
    database_subnet_cidrs: list[str]
    endpoint_security_group_id: str

    @property
    def private_subnet_ids_by_zone(self) -> dict[str, str]:
        """Zone id to private subnet id."""
        return dict(zip(self.availability_zone_ids, self.private_subnet_ids, strict=True))


@dataclass(frozen=True)
class EdgeOutputs:
    """``kreo-<env>-edge``: the zone, certificates, web ACLs and distributions.

    A recovery environment's edge makes no distributions (it reuses the recovered
    environment's): their fields are None there, and not written."""

    zone_id: str
    zone_name_servers: list[str]
    api_certificate_arn: str
    regional_web_acl_arn: str
    """The API load balancer's web ACL (the platform's admission policy requires it)."""
    media_distribution_arn: str | None
    media_distribution_domain: str | None
    media_cdn_domain: str
    """The media CDN's host name (``cdn.<domain>``)."""
    www_bucket: str | None
    www_distribution_id: str | None
    vendors_bucket: str | None
    vendors_distribution_id: str | None
    media_distribution_id: str | None = field(metadata=INTERNAL)
    dr_api_certificate_arn: str | None = None
    """The API certificate in the DR region, for the environment's recovery (where
    :attr:`~kreo_infra.config.models.EnvironmentConfig.recoverable`)."""

    @property
    def distribution_ids(self) -> dict[str, str]:
        """Every CloudFront distribution of the environment, by site (none in a recovery)."""
        ids = {
            "media": self.media_distribution_id,
            "www": self.www_distribution_id,
            "vendors": self.vendors_distribution_id,
        }
        return {site: i for site, i in ids.items() if i is not None}


@dataclass(frozen=True)
class ClusterOutputs:
    """``kreo-<env>-cluster``: the EKS cluster, its workload roles and image repositories."""

    cluster_name: str
    cluster_endpoint: str
    cluster_ca_data: str = field(metadata=output("cluster-certificate-authority-data"))
    oidc_issuer: str = field(metadata=output("cluster-oidc-issuer"))
    cluster_security_group_id: str = field(metadata=output("cluster-security-group-id"))
    data_clients_security_group_id: str = field(metadata=output("data-clients-security-group-id"))
    """The group the data tier admits; every node carries it."""
    role_arns: dict[str, str] = field(metadata=output("workload-role-arns"))
    """Pod Identity role ARN per workload name."""
    repository_urls: dict[str, str] = field(metadata=output("repository-urls"))
    """Image repository URL per service."""
    runner_project_names: dict[str, str] = field(metadata=output("runner-project-names"))
    cluster_arn: str = field(metadata=INTERNAL)
    role_names: dict[str, str] = field(metadata=INTERNAL)
    volume_key_arn: str = field(metadata=INTERNAL)
    """The KMS key of the cluster's EBS volumes."""


@dataclass(frozen=True)
class DataOutputs:
    """``kreo-<env>-data``: endpoints and names of everything stateful."""

    database_proxy_endpoint: str
    database_proxy_resource_id: str
    """The proxy's ``prx-...`` id, the resource of ``rds-db:connect``."""
    database_reader_endpoints: list[str]
    database_secret_arn: str = field(metadata=output("database-master-secret-arn"))
    database_primary_host: str = field(metadata=output("database-primary-host"))
    cache_endpoint: str = field(metadata=output("cache-endpoint"))
    cache_reader_endpoint: str = field(metadata=output("cache-reader-endpoint"))
    cache_arn: str = field(metadata=output("cache-arn"))
    cache_user_arn: str = field(metadata=output("cache-user-arn"))
    cache_user_name: str = field(metadata=output("cache-user-name"))
    search_endpoint: str = field(metadata=output("search-endpoint"))
    secret_arns: dict[str, str] = field(metadata=output("secret-arns"))
    secret_names: dict[str, str] = field(metadata=output("secret-names"))
    media_bucket: str = field(metadata=output("media-bucket"))
    access_logs_bucket: str | None = field(metadata=output("access-logs-bucket"))
    """None in a recovery environment (it makes no media buckets)."""
    database_identifier: str = field(metadata=INTERNAL)
    database_replica_identifiers: list[str] = field(metadata=INTERNAL)
    database_replica_resource_ids: list[str] = field(metadata=INTERNAL)
    database_primary_arn: str = field(metadata=INTERNAL)
    database_proxy_name: str = field(metadata=INTERNAL)
    database_master_secret_name: str = field(metadata=INTERNAL)
    cache_id: str = field(metadata=INTERNAL)
    cache_member_ids: list[str] = field(metadata=INTERNAL)
    """The replication group's member clusters (``<id>-001``, ...)."""
    search_domain_name: str = field(metadata=INTERNAL)


@dataclass(frozen=True)
class AppOutputs:
    """``kreo-<env>-app``: the marketplace release."""

    app_namespace: str
    api_url: str
    service_role_arns: dict[str, str]


@dataclass(frozen=True)
class BackupOutputs:
    """``kreo-<env>-backup``: the vaults and the database plan."""

    vault_name: str
    dr_vault_name: str
    """Empty where nothing is copied to the DR region."""
    air_gapped_vault_arn: str
    """Empty where the vaults are not locked."""
    database_plan_id: str
    replicated_backups_arn: str
    """The database's automated backups replicated to the DR region
    (``arn:aws:rds:<dr region>:<account>:auto-backup:ab-...``): what a recovery
    restores from (its config holds a copy: this state is in the lost region).
    Empty where nothing is replicated."""
    drill_subnet_group: str | None = None
    """The recovery drill's DB subnet group in the DR region (where backups replicate)."""
    drill_security_group_id: str | None = None
    """The recovery drill's security group there (no rules)."""


@dataclass(frozen=True)
class ObservabilityOutputs:
    """``kreo-<env>-observability``: the alarm topic and what notifies it."""

    alarm_topic_arn: str
    alarm_names: list[str]
    dashboard_name: str


@dataclass(frozen=True)
class BootstrapOutputs:
    """``kreo-<env>-bootstrap``: the account's state, roles and guardrails; in the apex
    owner's account also the image repositories and the role that pushes to them."""

    state_bucket: str
    break_glass_role_arn: str
    permissions_boundary_arn: str
    security_topic_arn: str
    audit_trail_arn: str
    github_oidc_provider_arn: str
    plan_role_arn: str
    deploy_role_arn: str
    access_role_arns: dict[str, str]
    image_push_role_arn: str | None = None
    repository_urls: dict[str, str] | None = None
    recovery_state_buckets: dict[str, str] | None = None
    """The state bucket of each environment that recovers this one (in the DR region)."""
    recovery_deploy_role_arns: dict[str, str] | None = None
    """The deploy role of each environment that recovers this one."""
