"""Typed configuration of one Kreo environment.

Every model forbids unknown keys and coerces nothing (``strict``): a typo or a
quoted number in a YAML file stops synthesis with the field path, instead of
silently falling back to a default. Defaults live in ``config/defaults.yaml``,
not here: the models say what is allowed, the YAML says what is chosen.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from kreo_infra.config.eks import ADDONS, EKS_STANDARD_SUPPORT
from kreo_infra.config.instance_types import INSTANCE_TYPES
from kreo_infra.config.subnets import SubnetPlan, plan_subnets
from kreo_infra.errors import PropsError

ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9]{1,19}$")
"""Environment names become part of stack ids and AWS names: short, lowercase."""

_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$")


class FieldPathError(ValueError):
    """A validation error about a field below the one being validated.

    Model validators see several fields at once; ``subpath`` (e.g.
    ``subnets.private[1]``) lets the error report name the exact field.
    """

    def __init__(self, subpath: str, problem: str) -> None:
        super().__init__(problem)
        self.subpath = subpath


def _service_name(value: str) -> str:
    if not _SERVICE_NAME.match(value):
        raise ValueError(f"{value!r} must be a lowercase DNS label of 3-40 characters")
    return value


def _domain(value: str) -> str:
    if not _DOMAIN.match(value):
        raise ValueError(f"{value!r} is not a valid DNS domain (lowercase labels, e.g. kreo.com)")
    return value


def _label(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError(f"{value!r} is not a valid DNS label (lowercase letters, digits, '-')")
    return value


def _ipv4_network(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network in CIDR form ({exc})") from exc
    return str(network)


def _https_origin(value: str) -> str:
    match = re.match(r"^https://([^/:]+)$", value)
    if not match or not _DOMAIN.match(match.group(1)):
        raise ValueError(f"{value!r} is not an https:// origin (scheme and host, no path)")
    return value


def _tag_value(value: str) -> str:
    if not _TAG_VALUE.match(value):
        raise ValueError(f"{value!r} is not a valid AWS tag value")
    return value


Domain = Annotated[str, AfterValidator(_domain)]
DnsLabel = Annotated[str, AfterValidator(_label)]
Cidr = Annotated[str, AfterValidator(_ipv4_network)]
HttpsOrigin = Annotated[str, AfterValidator(_https_origin)]
TagValue = Annotated[str, AfterValidator(_tag_value)]
ServiceName = Annotated[str, AfterValidator(_service_name)]
Port = Annotated[int, Field(ge=1, le=65535)]
AwsRegion = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
Version = Annotated[str, Field(pattern=r"^\d+(\.\d+){1,2}$")]
AzId = Annotated[str, Field(pattern=r"^[a-z]{2,5}\d-az\d{1,2}$")]
Quantity = Annotated[str, Field(pattern=r"^\d+(\.\d+)?(m|Mi|Gi)?$")]
BucketName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
DailyWindow = Annotated[str, Field(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
"""``hh:mm-hh:mm`` (UTC): a daily backup or snapshot window."""
WeeklyWindow = Annotated[
    str,
    Field(
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}-(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}$"
    ),
]
"""``ddd:hh:mm-ddd:hh:mm`` (UTC): a weekly maintenance window."""
EmailAddress = Annotated[str, Field(pattern=r"^[\w.+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")]
SecretName = Annotated[str, Field(pattern=r"^[a-z0-9-]+(/[a-z0-9-]+)*$")]
"""A secret's name below the environment's prefix (``stripe/api-key``)."""
Duration = Annotated[str, Field(pattern=r"^\d+[smhd]$")]
SearchInstanceType = Annotated[str, Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")]


class Model(BaseModel):
    """Base of every config model: immutable, strict, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Tags(Model):
    """Ownership tags the tagging aspect puts on every taggable resource."""

    owner: TagValue
    cost_center: TagValue


AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
"""A 12-digit AWS account id (quoted in YAML: a leading zero is part of it)."""


class StateBackend(Model):
    """Where Terraform state lives: the S3 bucket made by the environment's bootstrap
    stack, in the environment's own account (unset ``bucket``: derived, see
    :func:`derive_names`)."""

    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    region: AwsRegion
    key_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9/-]*$")]
    bootstrap_backend: Literal["local", "s3"]
    noncurrent_version_expiry_days: Annotated[int, Field(ge=30)]


class Versions(Model):
    """Pinned tool and provider versions: the one place they are decided.

    ``providers`` must equal the versions the installed cdktf provider packages
    were generated for (a test compares them), so a Pipfile bump and the
    Terraform pin cannot drift apart.
    """

    terraform: Annotated[str, Field(min_length=1)]
    providers: dict[Literal["aws", "kubernetes", "helm", "github"], Version]


class SubnetCidrs(Model):
    """Explicit subnet ranges, one per availability zone and tier."""

    public: list[Cidr]
    private: list[Cidr]
    database: list[Cidr]


class Network(Model):
    """VPC layout. ``subnets`` overrides the ranges computed from ``vpc_cidr``."""

    vpc_cidr: Cidr
    availability_zone_ids: Annotated[list[AzId], Field(min_length=2, max_length=6)]
    single_nat_gateway: bool
    flow_log_retention_days: Annotated[int, Field(ge=1)]
    subnets: SubnetCidrs | None = None

    def subnet_plan(self) -> SubnetPlan:
        """The explicit ``subnets`` if set, else the ranges computed from ``vpc_cidr``."""
        if self.subnets is not None:
            s = self.subnets
            return SubnetPlan(tuple(s.public), tuple(s.private), tuple(s.database))
        return plan_subnets(self.vpc_cidr, self.az_count)

    @property
    def az_count(self) -> int:
        return len(self.availability_zone_ids)

    @model_validator(mode="after")
    def _subnets_fit_the_vpc(self) -> Network:
        if len(set(self.availability_zone_ids)) != self.az_count:
            raise FieldPathError("availability_zone_ids", "lists a zone more than once")
        if self.subnets is None:
            try:
                plan_subnets(self.vpc_cidr, self.az_count)
            except PropsError as error:
                raise FieldPathError("vpc_cidr", error.allowed) from None
            return self
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for tier in ("public", "private", "database"):
            ranges = getattr(self.subnets, tier)
            if len(ranges) != self.az_count:
                raise FieldPathError(
                    f"subnets.{tier}",
                    f"has {len(ranges)} ranges for {self.az_count} availability zones",
                )
            for index, cidr in enumerate(ranges):
                where = f"subnets.{tier}[{index}]"
                net = ipaddress.IPv4Network(cidr)
                if not net.subnet_of(vpc):
                    raise FieldPathError(where, f"{cidr} is outside the VPC {self.vpc_cidr}")
                for other_where, other in seen:
                    if net.overlaps(other):
                        raise FieldPathError(where, f"{cidr} overlaps {other_where} ({other})")
                seen.append((where, net))
        return self


class NodeGroup(Model):
    """EKS managed nodes: one group per availability zone (``zonal``) or one over all."""

    instance_types: Annotated[list[str], Field(min_length=1)]
    zonal: bool
    """One node group per zone, each with the sizes below (docs/decisions.md)."""
    min_size: Annotated[int, Field(ge=0)]
    desired_size: Annotated[int, Field(ge=0)]
    max_size: Annotated[int, Field(ge=1)]
    disk_size_gb: Annotated[int, Field(ge=20, le=16384)]
    auto_repair: bool
    """EKS node auto repair (``node_repair_config``): EKS replaces a node whose
    kubelet's ``Ready`` condition has failed for 30 minutes (what else it sees:
    :class:`~kreo_infra.cluster.node_group.ManagedNodeGroup`)."""

    def node_bounds(self, zones: int) -> tuple[int, int]:
        """The cluster-wide minimum and maximum node count over ``zones`` zones."""
        factor = zones if self.zonal else 1
        return self.min_size * factor, self.max_size * factor

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroup:
        unknown = [t for t in self.instance_types if t not in INSTANCE_TYPES]
        if unknown:
            raise FieldPathError(
                "instance_types",
                f"{', '.join(unknown)} not in the sized types "
                f"({', '.join(INSTANCE_TYPES)}; kreo_infra/config/instance_types.py)",
            )
        shapes = {
            (INSTANCE_TYPES[t].vcpus, INSTANCE_TYPES[t].memory_mib) for t in self.instance_types
        }
        if len(shapes) > 1:
            raise FieldPathError(
                "instance_types",
                f"{', '.join(self.instance_types)} differ in vCPUs or memory; Cluster Autoscaler "
                "sizes a group by one of them, so give a group types of one size",
            )
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"need min_size <= desired_size <= max_size, got "
                f"{self.min_size} / {self.desired_size} / {self.max_size}"
            )
        return self


AddonVersion = Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")]
IamRoleName = Annotated[str, Field(pattern=r"^[\w+=,.@-]{1,64}$")]


class Cluster(Model):
    """EKS control plane, access, add-ons and node groups."""

    name: DnsLabel | None = None
    """The EKS cluster's name; default ``<project>-<env>``. Renaming replaces the cluster."""
    kubernetes_version: Version
    endpoint_public_access: bool
    public_access_cidrs: list[Cidr]
    log_retention_days: Annotated[int, Field(ge=1)]
    admin_role_names: list[IamRoleName]
    readonly_role_names: list[IamRoleName]
    addons: dict[Literal[ADDONS], AddonVersion]  # type: ignore[valid-type]
    node_groups: Annotated[dict[DnsLabel, NodeGroup], Field(min_length=1)]
    zonal_shift: bool
    """Register the cluster with ARC zonal shift (``zonal_shift_config``), so an
    operator can shift it away from an impaired zone; not zonal *autoshift*
    (see :class:`~kreo_infra.cluster.control_plane.EksControlPlane`)."""

    @model_validator(mode="after")
    def _supported_and_complete(self) -> Cluster:
        if self.kubernetes_version not in EKS_STANDARD_SUPPORT:
            raise FieldPathError(
                "kubernetes_version",
                f"{self.kubernetes_version} is not in EKS standard support; "
                f"use one of {', '.join(EKS_STANDARD_SUPPORT)}",
            )
        missing = [name for name in ADDONS if name not in self.addons]
        if missing:
            raise FieldPathError("addons", f"pin a version for {', '.join(missing)}")
        overlap = set(self.admin_role_names) & set(self.readonly_role_names)
        if overlap:
            raise FieldPathError(
                "readonly_role_names", f"{', '.join(sorted(overlap))} is also an admin role"
            )
        return self

    @model_validator(mode="after")
    def _public_endpoint_scoped(self) -> Cluster:
        if self.endpoint_public_access and (
            not self.public_access_cidrs or "0.0.0.0/0" in self.public_access_cidrs
        ):
            raise FieldPathError(
                "public_access_cidrs",
                "a public endpoint needs a non-empty list of CIDRs other than 0.0.0.0/0",
            )
        return self


class Registry(Model):
    """ECR repositories for the services (one per service, ``<project>/<service>``).

    They belong to the apex owner's account (its ``kreo-<env>-bootstrap`` creates
    them), not to one environment: every environment pulls the same images (build
    once, promote the same image), and they exist before the first environment
    deploys. Every environment must agree on these settings.
    """

    untagged_expiry_days: Annotated[int, Field(ge=1, le=365)]
    keep_releases: Annotated[int, Field(ge=1, le=1000)]


INSIGHTS_RETENTION_DAYS = (7, *(31 * month for month in range(1, 24)), 731)
"""The Performance Insights retentions RDS accepts: 7 days (the free tier), whole
months of 31 days up to 23, or 731 days (CreateDBInstance,
``PerformanceInsightsRetentionPeriod``)."""


def _insights_retention(value: int) -> int:
    if value not in INSIGHTS_RETENTION_DAYS:
        raise ValueError(f"{value} days: use 7, a multiple of 31 up to 713, or 731")
    return value


class Database(Model):
    """RDS PostgreSQL (seed: db.t3.medium, 100 GB, encrypted, 7-day backups).

    ``engine_version`` is the major version only: RDS applies minor versions
    itself (``auto_minor_version_upgrade``), and a pinned minor would make every
    later plan a failing downgrade. ``master_password_version`` rotates the
    master password: bump it and the next apply generates a new one (never in
    state) and sets it on the database and its secret together.
    """

    engine_version: Annotated[str, Field(pattern=r"^\d+$")]
    master_password_version: Annotated[int, Field(ge=1)]
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")]
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)]
    max_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)]
    backup_retention_days: Annotated[int, Field(ge=7, le=35)]
    multi_az: bool
    read_replicas: Annotated[int, Field(ge=0, le=5)]
    deletion_protection: bool
    database_name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    master_username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")]
    backup_window: DailyWindow
    maintenance_window: WeeklyWindow
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60]
    performance_insights_retention_days: Annotated[int, AfterValidator(_insights_retention)]
    slow_query_ms: Annotated[int, Field(ge=0)]

    @model_validator(mode="after")
    def _storage_ordered(self) -> Database:
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise FieldPathError(
                "max_allocated_storage_gb",
                f"{self.max_allocated_storage_gb} is below allocated_storage_gb "
                f"({self.allocated_storage_gb})",
            )
        return self


class Cache(Model):
    """ElastiCache (seed: cache.t3.medium, TLS on)."""

    engine: Literal["redis", "valkey"]
    engine_version: Version
    node_type: Annotated[str, Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")]
    replicas_per_shard: Annotated[int, Field(ge=0, le=5)]
    transit_encryption: Literal[True]
    snapshot_retention_days: Annotated[int, Field(ge=1, le=35)]
    snapshot_window: DailyWindow
    maintenance_window: WeeklyWindow


class Search(Model):
    """OpenSearch (the seed's Elasticsearch Service)."""

    engine_version: Annotated[str, Field(pattern=r"^OpenSearch_\d+\.\d+$")]
    instance_type: SearchInstanceType
    instance_count: Annotated[int, Field(ge=1, le=80)]
    zone_awareness: bool
    dedicated_master_type: SearchInstanceType | None
    volume_size_gb: Annotated[int, Field(ge=10, le=16384)]

    @model_validator(mode="after")
    def _zones_fit(self) -> Search:
        if self.zone_awareness and self.instance_count % 3:
            raise FieldPathError(
                "instance_count",
                f"{self.instance_count} cannot spread evenly over 3 zones; use a multiple of 3",
            )
        return self


class Storage(Model):
    """S3 buckets (seed: kreo-marketplace-produccion, versioned) and their protection."""

    media_bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,55}[a-z0-9]$")]
    access_logs_bucket: BucketName
    noncurrent_version_expiry_days: Annotated[int, Field(ge=1)]
    replicate_to_dr_region: bool


class Secrets(Model):
    """Secrets Manager containers (values are set out of band, never by Terraform)."""

    names: Annotated[list[SecretName], Field(min_length=1)]
    recovery_window_days: Annotated[int, Field(ge=7, le=30)]
    replicate_to_dr_region: bool


def _pinned(value: str) -> str:
    if not re.match(r"^v?\d+\.\d+\.\d+$", value):
        raise ValueError(f"{value!r} is not a pinned version; use an exact version like 1.2.3")
    return value


def _https_url(value: str) -> str:
    if not re.match(r"^https://[a-z0-9.-]+(/[\w./-]*)?$", value):
        raise ValueError(f"{value!r} is not an https:// chart repository URL")
    return value


class HelmChart(Model):
    """A chart from a repository at one exact version (never a range or \"latest\")."""

    repository: Annotated[str, AfterValidator(_https_url)]
    chart: DnsLabel
    version: Annotated[str, AfterValidator(_pinned)]


class Platform(Model):
    """The cluster add-ons released by the platform layer.

    ``charts`` pins each add-on's chart, by add-on name. Which add-ons exist is
    the add-on registry's business (kreo_infra.platform.addons), not the
    config's: the loader checks the pins against the names main.py passes it
    (``load_environments(..., chart_names=)``).
    """

    charts: dict[DnsLabel, HelmChart]
    prometheus_retention: Annotated[str, Field(pattern=r"^\d+[dhw]$")]
    prometheus_storage_gb: Annotated[int, Field(ge=10, le=16384)]
    external_dns_policy: Literal["upsert-only", "sync"]
    grafana_admin_secret: SecretName


class Dns(Model):
    """The environment's domain, its public zone and the hosts the seed names on it.

    ``apex`` is the account's registered domain (``kreo.com``); ``domain`` is
    ``<env>.<apex>`` unless the environment sets it (production owns the apex).
    ``zone`` says whether the edge layer creates the public hosted zone or looks
    up one that already exists; ``delegate_from`` names a parent zone (in this
    account) that gets the NS records delegating ``domain`` to the new zone: the
    apex, for an environment whose domain is below it, unless set.
    """

    apex: Domain
    domain: Domain
    zone: Literal["create", "existing"]
    delegate_from: Domain | None = None
    api_host: DnsLabel
    www_host: DnsLabel
    vendors_host: DnsLabel
    cdn_host: DnsLabel

    @model_validator(mode="after")
    def _delegation_is_a_parent(self) -> Dns:
        if self.domain != self.apex and not self.domain.endswith(f".{self.apex}"):
            raise FieldPathError("domain", f"{self.domain!r} is not {self.apex!r} or below it")
        if self.delegate_from is not None:
            if self.zone != "create":
                raise FieldPathError(
                    "delegate_from", "only a zone this project creates is delegated"
                )
            if not self.domain.endswith(f".{self.delegate_from}"):
                raise FieldPathError(
                    "delegate_from", f"{self.delegate_from!r} is not a parent of {self.domain!r}"
                )
        hosts = [self.api_host, self.www_host, self.vendors_host, self.cdn_host]
        if len(set(hosts)) != len(hosts):
            raise FieldPathError("cdn_host", f"hosts must differ from each other, got {hosts}")
        return self

    @property
    def cdn_fqdn(self) -> str:
        return f"{self.cdn_host}.{self.domain}"

    @property
    def api_fqdn(self) -> str:
        return f"{self.api_host}.{self.domain}"

    @property
    def www_fqdn(self) -> str:
        return f"{self.www_host}.{self.domain}"

    @property
    def vendors_fqdn(self) -> str:
        return f"{self.vendors_host}.{self.domain}"


class Edge(Model):
    """CloudFront, its buckets and the web ACLs in front of everything public."""

    www_bucket: BucketName
    vendors_bucket: BucketName
    logs_bucket: BucketName
    price_class: Literal["PriceClass_All", "PriceClass_200", "PriceClass_100"]
    waf_log_retention_days: Annotated[int, Field(ge=1)]
    web_noncurrent_version_expiry_days: Annotated[int, Field(ge=1)]
    logs_expiry_days: Annotated[int, Field(ge=1)]


class Resources(Model):
    """Kubernetes requests/limits (seed: 500m/512Mi requests, 1000m/1Gi limits)."""

    cpu: Quantity
    memory: Quantity


class Autoscaling(Model):
    """HorizontalPodAutoscaler bounds and targets (seed: 3-10, 70% CPU, 80% memory)."""

    min_replicas: Annotated[int, Field(ge=1)]
    max_replicas: Annotated[int, Field(ge=1)]
    target_cpu_percent: Annotated[int, Field(ge=1, le=100)]
    target_memory_percent: Annotated[int, Field(ge=1, le=100)]

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is greater than "
                f"max_replicas ({self.max_replicas})"
            )
        return self


MOVING_TAGS = ("latest", "main", "master", "stable")


_DIGEST = r"sha256:[0-9a-f]{64}"
_IMAGE_TAG = re.compile(
    rf"^(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})?(@(?P<digest>{_DIGEST}))?$"
)


def split_image_tag(value: str) -> tuple[str | None, str | None]:
    """``<tag>``, ``<tag>@sha256:<hex>`` or ``@sha256:<hex>`` as (tag, digest), each
    None when absent (the value is assumed valid: :data:`ImageTag`)."""
    match = _IMAGE_TAG.match(value)
    return (match.group("tag"), match.group("digest")) if match else (value, None)


def _image_tag(value: str) -> str:
    match = _IMAGE_TAG.match(value)
    if not value or not match:
        raise ValueError(
            f"{value!r} is not <tag>, <tag>@sha256:<64 hex digits> or @sha256:<64 hex digits>"
        )
    if match.group("tag") in MOVING_TAGS:
        raise ValueError(f"{value!r} moves between builds; name one build (e.g. 1.4.2 or a commit)")
    return value


ImageTag = Annotated[str, AfterValidator(_image_tag)]
"""The build of an image in its repository: a tag naming one build (ECR
repositories refuse to overwrite it), optionally followed by its digest
(``1.4.2@sha256:<64 hex>``: the digest is what runs, the tag is for people), or
the digest alone (``@sha256:<64 hex>``)."""

_IMAGE_REFERENCE = re.compile(
    r"^(?P<repository>[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+)"
    rf"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}))?(@(?P<digest>{_DIGEST}))?$"
)


def _image_reference(value: str) -> str:
    match = _IMAGE_REFERENCE.match(value)
    if not match or not (match.group("tag") or match.group("digest")):
        raise ValueError(
            f"{value!r} is not <registry>/<repository>:<tag>, "
            "<registry>/<repository>:<tag>@sha256:<64 hex digits> "
            "or <registry>/<repository>@sha256:<64 hex digits>"
        )
    if match.group("tag"):
        _image_tag(match.group("tag"))
    return value


def image_reference_digest(value: str) -> str | None:
    """The ``sha256:<hex>`` digest of an :data:`ImageReference`, None without one."""
    match = _IMAGE_REFERENCE.match(value)
    return match.group("digest") if match else None


ImageReference = Annotated[str, AfterValidator(_image_reference)]
"""A full image reference, ``<registry>/<repository>:<tag>``, its tag naming one
build (never ``latest``); ``@sha256:<digest>`` may follow, or replace the tag."""


class Service(Model):
    """One marketplace microservice.

    ``path`` is its prefix on the API host; the one service without a path is
    the gateway (the default route, allowed to call every other service).
    ``secrets`` name the application secrets (``secrets.names``) this service
    gets as environment variables, besides ``application.shared_secrets``.
    ``image_tag`` overrides ``application.image_tag`` for this service.
    ``calls`` names the other services it calls in the cluster (default none;
    the gateway calls all of them): each gets ``SERVICE_URL_<NAME>`` and a
    network policy that lets exactly those calls through.
    """

    port: Port
    path: Annotated[str, Field(pattern=r"^/[a-z0-9/-]*$")] | None = None
    replicas: Annotated[int, Field(ge=1)]
    autoscaling: Autoscaling
    requests: Resources
    limits: Resources
    secrets: list[SecretName] = []
    image_tag: ImageTag | None = None
    calls: list[str] = []


class RateLimit(Model):
    """Application rate limit (seed .env.production: 1000 requests / 60 000 ms)."""

    window_ms: Annotated[int, Field(ge=1000)]
    max_requests: Annotated[int, Field(ge=1)]


class EdgeRateLimit(Model):
    """Per-client edge rate limit (seed NGINX: 100 r/s, burst 200).

    WAF counts requests over ``evaluation_window_seconds`` (one of the windows
    WAF offers); the edge layer turns rate and burst into a limit per window.
    """

    requests_per_second: Annotated[int, Field(ge=1)]
    burst: Annotated[int, Field(ge=0)]
    evaluation_window_seconds: Literal[60, 120, 300, 600]


class Features(Model):
    """Feature flags (seed: ENABLE_2FA, ENABLE_OAUTH, MAINTENANCE_MODE)."""

    enable_2fa: bool
    enable_oauth: bool
    maintenance_mode: bool


class Jwt(Model):
    """Token settings (seed: JWT_ALGORITHM, JWT_EXPIRES_IN, JWT_REFRESH_EXPIRES_IN)."""

    algorithm: Literal["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
    expires_in: Duration
    refresh_expires_in: Duration


class DatabasePool(Model):
    """Connection pool per pod (seed: DATABASE_POOL_MIN / DATABASE_POOL_MAX)."""

    min: Annotated[int, Field(ge=0)]
    max: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _ordered(self) -> DatabasePool:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Application(Model):
    """Settings the marketplace services read at run time (non-secret only), and
    which secret becomes which environment variable. ``database_client_image``
    is the PostgreSQL client (psql) the chart's database-roles hook job runs.

    ``require_image_digests`` makes ``image_tag`` and
    ``database_client_image`` name their digest (``@sha256:<64 hex>``): the
    cluster then runs exactly the bytes reviewed, whatever happens to a tag in
    its registry; :func:`image_digest_problems` applies the same rule to the
    services' own ``image_tag``."""

    image_tag: ImageTag
    require_image_digests: bool
    cors_origins: Annotated[list[HttpsOrigin], Field(min_length=1)]
    rate_limit: RateLimit
    edge_rate_limit: EdgeRateLimit
    features: Features
    jwt: Jwt
    database_pool: DatabasePool
    database_client_image: ImageReference
    email_from: EmailAddress
    email_from_name: Annotated[str, Field(min_length=1, max_length=100)]
    sms_from: Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")]
    stripe_api_version: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")]
    secret_env: dict[SecretName, Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]]
    shared_secrets: list[SecretName]

    @model_validator(mode="after")
    def _digests_when_required(self) -> Application:
        if self.require_image_digests:
            for field, value, digest in (
                ("image_tag", self.image_tag, split_image_tag(self.image_tag)[1]),
                (
                    "database_client_image",
                    self.database_client_image,
                    image_reference_digest(self.database_client_image),
                ),
            ):
                if not digest:
                    raise FieldPathError(
                        field,
                        f"{value!r} has no digest; require_image_digests wants "
                        "<tag>@sha256:<64 hex digits>",
                    )
        return self


def image_digest_problems(
    application: Application, services: Mapping[str, Service]
) -> list[tuple[str, str]]:
    """``(field path, problem)`` for each service ``image_tag`` without a digest
    when ``application.require_image_digests`` is set (EnvironmentConfig's
    validator reports them; a Service alone cannot see the application's rule)."""
    if not application.require_image_digests:
        return []
    return [
        (
            f"services.{name}.image_tag",
            f"{service.image_tag!r} has no digest; application.require_image_digests "
            "wants <tag>@sha256:<64 hex digits>",
        )
        for name, service in services.items()
        if service.image_tag is not None and split_image_tag(service.image_tag)[1] is None
    ]


Percent = Annotated[float, Field(gt=0, le=100)]


class DatabaseAlarms(Model):
    """RDS thresholds: alarm when CPU or connections are above, storage or memory below."""

    cpu_percent: Percent
    free_storage_gb: Annotated[int, Field(ge=1)]
    freeable_memory_mb: Annotated[int, Field(ge=1)]
    connections: Annotated[int, Field(ge=1)]
    replica_lag_seconds: Annotated[int, Field(ge=1)]
    proxy_client_connections: Annotated[int, Field(ge=1)]


class CacheAlarms(Model):
    """Valkey thresholds, per node."""

    engine_cpu_percent: Percent
    memory_percent: Percent
    evictions_per_5min: Annotated[int, Field(ge=1)]
    replication_lag_seconds: Annotated[int, Field(ge=1)]
    connections: Annotated[int, Field(ge=1)]


class SearchAlarms(Model):
    """OpenSearch thresholds (cluster status red/yellow always alarm)."""

    free_storage_gb: Annotated[int, Field(ge=1)]
    jvm_memory_pressure_percent: Percent


class LoadBalancerAlarms(Model):
    """API load balancer thresholds."""

    error_rate_percent: Percent
    target_response_seconds: Annotated[float, Field(gt=0)]
    unhealthy_hosts: Annotated[int, Field(ge=1)]


class ClusterAlarms(Model):
    """EKS thresholds (the node minimum comes from the node groups)."""

    pod_restarts_per_5min: Annotated[int, Field(ge=1)]


class CdnAlarms(Model):
    """CloudFront thresholds."""

    error_rate_percent: Percent


class Alarms(Model):
    database: DatabaseAlarms
    cache: CacheAlarms
    search: SearchAlarms
    load_balancer: LoadBalancerAlarms
    cluster: ClusterAlarms
    cdn: CdnAlarms


class Observability(Model):
    """Who is told, and when: the alarm topic, its subscribers, thresholds."""

    alarm_emails: Annotated[
        list[EmailAddress],
        Field(min_length=1),
    ]
    pager_url: Annotated[str, Field(pattern=r"^https://[^\s]+$")] | None = None
    alarms: Alarms


class Backup(Model):
    """AWS Backup: the plan's rules, the DR copy and the vault lock."""

    hourly_retention_days: Annotated[int, Field(ge=1)]
    daily_retention_days: Annotated[int, Field(ge=7)]
    copy_to_dr_region: bool
    vault_lock: bool
    vault_lock_min_retention_days: Annotated[int, Field(ge=1)]
    vault_lock_changeable_for_days: Annotated[int, Field(ge=3)]
    rds_replication_retention_days: Annotated[int, Field(ge=1, le=35)]
    drill_network_cidr: Cidr
    """The recovery drill's network in the DR region (where ``copy_to_dr_region``)."""
    drill_zone_ids: Annotated[list[AzId], Field(min_length=2, max_length=2)]
    """Its two availability zones, by id, in the DR region (RDS wants two)."""

    @model_validator(mode="after")
    def _lock_fits_the_rules(self) -> Backup:
        if self.vault_lock and self.vault_lock_min_retention_days > self.hourly_retention_days:
            raise FieldPathError(
                "vault_lock_min_retention_days",
                f"{self.vault_lock_min_retention_days} exceeds hourly_retention_days "
                f"({self.hourly_retention_days}): the lock would refuse the hourly recovery points",
            )
        return self


GithubRepository = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
WorkflowPath = Annotated[str, Field(pattern=r"^\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml$")]
GithubTeamSlug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
GithubEnvironmentName = Annotated[str, Field(pattern=ENVIRONMENT_NAME.pattern)]
StatusCheckName = Annotated[str, Field(min_length=1, max_length=255)]


class Workflows(Model):
    """The workflow files whose jobs assume the pipeline's roles. Their paths are
    part of the roles' OIDC subjects (``job_workflow_ref``): a job of any other
    workflow file gets a token no role trusts."""

    ci: WorkflowPath
    """This repository's pull-request workflow (the plan role)."""
    deploy: WorkflowPath
    """This repository's deploy workflow on main (the deploy roles)."""
    release: WorkflowPath
    """The release workflow of every application repository, on main (image push)."""
    drill: WorkflowPath
    """This repository's recovery drill on main (the drill role, in the accounts whose
    database backups replicate to the DR region)."""


class Delivery(Model):
    """Who may change the account: this repository's workflows, through GitHub OIDC.

    ``plan_role`` (pull requests: read-only, state read), ``deploy_role_prefix``
    (``<prefix>-<env>``, jobs of the GitHub environment ``<env>``), and
    ``image_push_role`` (the ``app_repositories`` push images to ECR from their
    main branch) and ``drill_role`` (``workflows.drill`` on main restores a
    replicated backup into a throwaway instance in the DR region, where the
    environment's backups replicate).
    """

    github_repository: GithubRepository
    app_repositories: Annotated[list[GithubRepository], Field(min_length=1)]
    plan_role: IamRoleName
    deploy_role_prefix: IamRoleName
    image_push_role: IamRoleName
    drill_role: IamRoleName
    access_roles: dict[IamRoleName, Annotated[str, Field(pattern=r"^[\w+=,.@-]{1,32}$")]]
    """People's roles (role name → IAM Identity Center permission set): the
    bootstrap creates each, assumable only from that permission set's roles.
    Identity Center's own roles are named ``AWSReservedSSO_<set>_<random>`` under
    a path, which EKS access entries and OpenSearch cannot name stably."""
    workflows: Workflows
    break_glass_permission_set: Annotated[str, Field(pattern=r"^[\w+=,.@-]{1,32}$")]
    """The IAM Identity Center permission set whose roles may assume ``kreo-break-glass``,
    each account's role for what the pipeline's guardrails deny (docs/operations.md,
    "Break glass")."""
    approver_teams: dict[
        GithubEnvironmentName, Annotated[list[GithubTeamSlug], Field(min_length=1, max_length=6)]
    ]
    """GitHub environment → the teams (slugs) whose approval a deploy job there
    waits for (one approval from any of them; GitHub allows six reviewers). An
    environment not named here deploys without approval, still from main only."""
    update_environment: GithubEnvironmentName
    """The GitHub environment of the dependency-update workflow (renovate.yml): it
    holds the Renovate GitHub App's private key, usable from main only, and is
    never one of the deploy environments (whose roles trust their environment)."""
    required_checks: Annotated[list[StatusCheckName], Field(min_length=1)]
    """The check runs (job names of ``workflows.ci``) a pull request to main must
    pass; a test keeps them equal to job names of that workflow."""

    @model_validator(mode="after")
    def _no_identity_center_names(self) -> Delivery:
        for role in self.access_roles:
            if role.startswith("AWSReservedSSO_"):
                raise FieldPathError(
                    f"access_roles.{role}", "name a role of your own; the bootstrap creates it"
                )
        return self


DR_COPY_SUFFIX = "-dr"
"""The media bucket's copy in the DR region is ``<media bucket>-dr`` (data layer)."""

UNIQUE_NAMES = (
    "state.bucket",
    "storage.media_bucket",
    "storage.access_logs_bucket",
    "edge.www_bucket",
    "edge.vendors_bucket",
    "edge.logs_bucket",
)
"""The globally unique names an environment's file may set; unset, :func:`derive_names`
derives them from the environment's name (tests/kreo_infra/config: one rule)."""


def derive_names(data: dict[str, Any]) -> dict[str, Any]:
    """The naming rule: what an environment's file leaves unset, from its name.

    S3 buckets (global names) are ``<project>-marketplace-<env>`` and
    ``…-access-logs``, ``…-www``, ``…-vendors``, ``…-cdn-logs``, and the state
    bucket ``<project>-infra-terraform-state-<env>``; the domain is
    ``<env>.<dns.apex>``, delegated from the apex; the CORS origins are the
    environment's own web apps. Everything else unique (stacks, the cluster,
    roles, secrets, topics) is already named after the environment.
    """
    name, project = data.get("name"), data.get("project")
    if not isinstance(name, str) or not isinstance(project, str):
        return data
    data = dict(data)
    base = f"{project}-marketplace-{name}"
    derived = {
        "state": {"bucket": f"{project}-infra-terraform-state-{name}"},
        "storage": {"media_bucket": base, "access_logs_bucket": f"{base}-access-logs"},
        "edge": {
            "www_bucket": f"{base}-www",
            "vendors_bucket": f"{base}-vendors",
            "logs_bucket": f"{base}-cdn-logs",
        },
    }
    for section, names in derived.items():
        if isinstance(data.get(section), dict):
            data[section] = {**names, **data[section]}
    dns = data.get("dns")
    if isinstance(dns, dict) and isinstance(dns.get("apex"), str):
        dns = {"domain": f"{name}.{dns['apex']}", **dns}
        if dns["domain"] != dns["apex"] and dns.get("zone", "create") == "create":
            dns = {"delegate_from": dns["apex"], **dns}
        data["dns"] = dns
        application = data.get("application")
        if isinstance(application, dict) and "cors_origins" not in application:
            hosts = [dns.get("www_host"), dns.get("vendors_host")]
            if all(isinstance(h, str) for h in hosts):
                data["application"] = {
                    **application,
                    "cors_origins": [f"https://{h}.{dns['domain']}" for h in hosts],
                }
    return data


AutomatedBackupsArn = Annotated[
    str, Field(pattern=r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:auto-backup:ab-[A-Za-z0-9]+$")
]
"""Replicated automated backups (``arn:aws:rds:<region>:<account>:auto-backup:ab-...``)."""


class Restore(Model):
    """Where a recovery environment's database comes from: the recovered
    environment's automated backups replicated to this region.

    ``automated_backups_arn`` is the recovered environment's backup-stack output
    ``replicated-backups-arn``, copied here in peacetime (its state is in the
    region that is lost; docs/runbooks/disaster-recovery.md). ``restore_time``
    (UTC, ``YYYY-MM-DDTHH:MM:SSZ``; default none: the latest restorable time) is
    set in the recovery's pull request to restore to a moment before, say, a bad
    migration. Both are fixed for the restored instance's life (the provider
    replaces the instance when the restore block changes)."""

    automated_backups_arn: AutomatedBackupsArn
    restore_time: (
        Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")] | None
    ) = None


class EnvironmentConfig(Model):
    """Everything one environment (staging, production) is built from."""

    name: str
    account_id: AccountId
    """The environment's own AWS account (one account per environment: the
    pipeline of one cannot reach another's resources; docs/decisions.md).
    Every AWS provider of its stacks refuses any other account."""
    project: DnsLabel
    region: AwsRegion
    dr_region: AwsRegion
    tags: Tags
    state: StateBackend
    versions: Versions
    network: Network
    cluster: Cluster
    registry: Registry
    database: Database
    cache: Cache
    search: Search
    storage: Storage
    secrets: Secrets
    platform: Platform
    dns: Dns
    edge: Edge
    observability: Observability
    backup: Backup
    delivery: Delivery
    services: Annotated[dict[ServiceName, Service], Field(min_length=1)]
    application: Application
    recovery_of: str | None = None
    """The environment this one rebuilds after losing its region (default none: an
    environment of its own). A recovery environment runs in that environment's
    DR region, in its account (it has no bootstrap of its own: the account's is
    the recovered environment's), and is deployed only in a disaster
    (docs/runbooks/disaster-recovery.md)."""
    restore: Restore | None = None
    """A recovery environment's database source (required with ``recovery_of``,
    refused without it)."""

    @model_validator(mode="before")
    @classmethod
    def _derive_names(cls, data: Any) -> Any:
        return derive_names(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _consistent(self) -> EnvironmentConfig:
        if not ENVIRONMENT_NAME.match(self.name):
            raise FieldPathError("name", f"{self.name!r} must be 2-20 lowercase letters or digits")
        if self.dr_region == self.region:
            raise FieldPathError("dr_region", f"must differ from region ({self.region})")
        if self.recovery_of == self.name:
            raise FieldPathError("recovery_of", "name the environment this one rebuilds")
        if (self.restore is None) != (self.recovery_of is None):
            raise FieldPathError(
                "restore",
                "set it exactly when recovery_of is set (a recovery restores the database "
                "from the replicated automated backups)",
            )
        ports: dict[int, str] = {}
        for service_name, service in self.services.items():
            if service.port in ports:
                raise FieldPathError(
                    f"services.{service_name}.port",
                    f"{service.port} is already used by services.{ports[service.port]}",
                )
            ports[service.port] = service_name
        gateways = [name for name, service in self.services.items() if service.path is None]
        if len(gateways) != 1:
            raise FieldPathError(
                "services",
                f"exactly one service has no path (the gateway); found {gateways or 'none'}",
            )
        for service_name, service in self.services.items():
            for callee in service.calls:
                if callee == service_name or callee not in self.services:
                    others = sorted(set(self.services) - {service_name})
                    raise FieldPathError(
                        f"services.{service_name}.calls",
                        f"{callee!r} is not another service (one of {', '.join(others)})",
                    )
        for path, problem in image_digest_problems(self.application, self.services):
            raise FieldPathError(path, problem)
        self._check_secret_references()
        return self

    def _check_secret_references(self) -> None:
        known = set(self.secrets.names)
        env = self.application.secret_env
        references = [("application.shared_secrets", n) for n in self.application.shared_secrets]
        references += [
            (f"services.{service_name}.secrets", n)
            for service_name, service in self.services.items()
            for n in service.secrets
        ]
        for path, secret in references:
            if secret not in known:
                raise FieldPathError(path, f"{secret!r} is not one of secrets.names")
            if secret not in env:
                raise FieldPathError(
                    path, f"{secret!r} has no environment variable in application.secret_env"
                )
        for secret in env:
            if secret not in known:
                raise FieldPathError(
                    f"application.secret_env.{secret}", f"{secret!r} is not one of secrets.names"
                )
        names = list(env.values())
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise FieldPathError("application.secret_env", f"{duplicates} name two secrets")
        return self

    @model_validator(mode="after")
    def _access_roles_exist(self) -> EnvironmentConfig:
        """The cluster's and the search domain's people roles are ones the bootstrap creates."""
        for field in ("admin_role_names", "readonly_role_names"):
            for role in getattr(self.cluster, field):
                if role not in self.delivery.access_roles:
                    raise FieldPathError(
                        f"cluster.{field}",
                        f"{role!r} is not one of delivery.access_roles "
                        f"({', '.join(self.delivery.access_roles)}): the bootstrap creates those",
                    )
        return self

    @property
    def stack_prefix(self) -> str:
        """``kreo-<env>``: the prefix of every stack id of this environment."""
        return f"{self.project}-{self.name}"

    @property
    def recoverable(self) -> bool:
        """Whether a recovery environment can rebuild this one in its DR region: its
        media, secrets and database backups replicate there (the loader refuses a
        ``recovery_of`` naming an environment that is not). Its edge then also
        issues the API certificate there, in peacetime (validation needs Route 53's
        control plane, in us-east-1)."""
        return (
            self.recovery_of is None
            and self.storage.replicate_to_dr_region
            and self.secrets.replicate_to_dr_region
            and self.backup.copy_to_dr_region
        )

    @property
    def alarm_topic_name(self) -> str:
        """``kreo-<env>-alarms``: the SNS topic CloudWatch alarms and Alertmanager notify."""
        return f"{self.stack_prefix}-alarms"

    @property
    def secrets_prefix(self) -> str:
        """``kreo/<env>/``: the Secrets Manager names this environment's workloads may read.
        A recovery environment's are the recovered environment's (``kreo/production/``):
        their replicas in this region are what it reads; it creates none."""
        return f"{self.project}/{self.recovery_of or self.name}/"

    @property
    def generated_secrets(self) -> frozenset[str]:
        """Application secrets whose values Terraform generates (write-only, never in
        state): Grafana's admin login. Nobody sets them; the preflight skips them."""
        return frozenset({self.platform.grafana_admin_secret})

    @property
    def deploy_role(self) -> str:
        """The IAM role this environment's deploy jobs assume (``kreo-deploy-<env>``)."""
        return f"{self.delivery.deploy_role_prefix}-{self.name}"

    @property
    def dns_delegation_role(self) -> str:
        """The role in the parent zone's account that writes this environment's NS
        delegation record there (``kreo-dns-delegation-<env>``; the deploy role only)."""
        return f"{self.project}-dns-delegation-{self.name}"

    @property
    def dns_reader_role(self) -> str:
        """The role in the parent zone's account that reads it (``kreo-dns-reader-<env>``):
        what pull-request plans of this environment's edge assume instead."""
        return f"{self.project}-dns-reader-{self.name}"

    def node_role_names(self) -> list[str]:
        """The IAM roles of this environment's EKS nodes (``<cluster>-<group>-node``):
        the registry account lets exactly these pull."""
        return [f"{self.cluster_name}-{group}-node" for group in self.cluster.node_groups]

    @property
    def cluster_name(self) -> str:
        """The EKS cluster's name (``kreo-<env>`` unless ``cluster.name``); subnets carry
        it in their discovery tags."""
        return self.cluster.name or f"{self.project}-{self.name}"
