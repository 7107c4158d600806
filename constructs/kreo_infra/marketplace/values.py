"""Values of charts/kreo-marketplace, from config and the other layers' outputs.

Pure data in, data out: the app stack passes these exact values to the Helm
release, and the tests render and lint the chart with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.models import split_image_tag
from kreo_infra.marketplace.database_users import database_reader, database_user
from kreo_infra.workloads import (
    ALB_SSL_POLICY,
    INGRESS_CLASS,
    METRICS_PATH,
    MONITORING_NAMESPACE,
    PROMETHEUS_POD_LABELS,
    SECRET_STORE,
)

Values = dict[str, Any]

SECRET_REFRESH = "1h"  # noqa: S105 - an interval
"""How soon a value changed in Secrets Manager reaches the Kubernetes Secret."""

DATABASE_PORT = 5432
"""PostgreSQL, on the proxy and on the instances alike."""

DATA_PORTS = (DATABASE_PORT, 6379, 443)
"""RDS Proxy (PostgreSQL), Valkey, OpenSearch (HTTPS)."""


@dataclass(frozen=True)
class DataEndpoints:
    """Where the data tier answers (outputs of the data layer).

    ``database_primary_host`` (the primary instance, not the proxy) and
    ``database_master_secret`` (the Secrets Manager name of the master user's
    ``{"username", "password"}``) are for the database-roles hook job only.
    """

    database_host: str
    database_reader_host: str
    database_primary_host: str
    database_master_secret: str
    cache_host: str
    cache_reader_host: str
    cache_user: str
    search_host: str
    media_bucket: str


@dataclass(frozen=True)
class EdgeEndpoints:
    """What the edge layer gives the API's load balancer and the services."""

    certificate_arn: str
    web_acl_arn: str
    media_cdn_domain: str


def _flag(value: bool) -> str:
    return "true" if value else "false"


def settings(config: EnvironmentConfig, data: DataEndpoints, edge: EdgeEndpoints) -> dict[str, str]:
    """The ConfigMap: the non-secret settings of the seed's .env.production.

    Credentials are absent on purpose: the services authenticate to PostgreSQL
    (through RDS Proxy) and Valkey with IAM (``*_IAM_AUTH``), and to S3 and
    OpenSearch with their Pod Identity role; API keys arrive as Secrets. The
    database user is not here either: each service has its own role
    (``DATABASE_USER`` / ``DATABASE_READER_USER``, set per Deployment).
    """
    app, dns, db = config.application, config.dns, config.database
    return {
        "NODE_ENV": "production",
        "KREO_ENVIRONMENT": config.name,
        "AWS_REGION": config.region,
        "AWS_S3_BUCKET": data.media_bucket,
        "AWS_CLOUDFRONT_DOMAIN": edge.media_cdn_domain,
        "CUSTOMER_APP_URL": f"https://{dns.www_fqdn}",
        "VENDOR_PORTAL_URL": f"https://{dns.vendors_fqdn}",
        "API_GATEWAY_URL": f"https://{dns.api_fqdn}",
        "CORS_ORIGINS": ",".join(app.cors_origins),
        "RATE_LIMIT_WINDOW_MS": str(app.rate_limit.window_ms),
        "RATE_LIMIT_MAX_REQUESTS": str(app.rate_limit.max_requests),
        "ENABLE_2FA": _flag(app.features.enable_2fa),
        "ENABLE_OAUTH": _flag(app.features.enable_oauth),
        "MAINTENANCE_MODE": _flag(app.features.maintenance_mode),
        "DATABASE_HOST": data.database_host,
        "DATABASE_READER_HOST": data.database_reader_host,
        "DATABASE_PORT": str(DATABASE_PORT),
        "DATABASE_NAME": db.database_name,
        "DATABASE_SSL": "true",
        "DATABASE_IAM_AUTH": "true",
        "DATABASE_POOL_MIN": str(app.database_pool.min),
        "DATABASE_POOL_MAX": str(app.database_pool.max),
        "REDIS_HOST": data.cache_host,
        "REDIS_READER_HOST": data.cache_reader_host,
        "REDIS_PORT": "6379",
        "REDIS_TLS": _flag(config.cache.transit_encryption),
        "REDIS_USER": data.cache_user,
        "REDIS_IAM_AUTH": "true",
        "ELASTICSEARCH_URL": f"https://{data.search_host}",
        "EMAIL_FROM": app.email_from,
        "EMAIL_FROM_NAME": app.email_from_name,
        "TWILIO_PHONE_NUMBER": app.sms_from,
        "STRIPE_API_VERSION": app.stripe_api_version,
        "JWT_ALGORITHM": app.jwt.algorithm,
        "JWT_EXPIRES_IN": app.jwt.expires_in,
        "JWT_REFRESH_EXPIRES_IN": app.jwt.refresh_expires_in,
    }


def _secret_map(config: EnvironmentConfig, names: Sequence[str]) -> dict[str, str]:
    env = config.application.secret_env
    return {env[name]: f"{config.secrets_prefix}{name}" for name in names}


def image_values(reference: str) -> Values:
    """``registry/path[:tag][@sha256:...]`` as the chart's ``{repository[, tag][, digest]}``
    (the chart pulls by digest when there is one, by tag otherwise)."""
    name, _, digest = reference.partition("@")
    repository, tag = name, ""
    if ":" in name.rsplit("/", 1)[-1]:
        repository, _, tag = name.rpartition(":")
    return _image(repository, tag or None, digest or None)


def _image(repository: str, tag: str | None, digest: str | None) -> Values:
    return (
        {"repository": repository}
        | ({"tag": tag} if tag else {})
        | ({"digest": digest} if digest else {})
    )


def database_roles(config: EnvironmentConfig, data: DataEndpoints) -> Values:
    """The chart's database-roles hook job: which roles it creates, and where.

    Every service gets a writer role owning the schema of its name and a
    read-only role for the read path (:mod:`kreo_infra.marketplace.database_users`),
    both IAM-authenticated. The job connects straight to the primary instance
    as the master user, whose credentials it reads from Secrets Manager.
    """
    return {
        "enabled": True,
        "image": image_values(config.application.database_client_image),
        "host": data.database_primary_host,
        "port": DATABASE_PORT,
        "database": config.database.database_name,
        "masterSecret": data.database_master_secret,
        "services": {
            name: {"user": database_user(name), "readerUser": database_reader(name)}
            for name in config.services
        },
    }


def marketplace_values(
    config: EnvironmentConfig,
    *,
    repository_urls: Mapping[str, str],
    role_arns: Mapping[str, str],
    data: DataEndpoints,
    edge: EdgeEndpoints,
    monitoring: bool = True,
) -> Values:
    """Every value of the marketplace chart for ``config``'s environment.

    Per service: port, route, image (its ECR repository and the release tag),
    autoscaling bounds, resources, the secrets it gets, its IAM role and its
    database roles (created by the chart's hook job, ``databaseRoles``). The
    Ingress gets the edge layer's certificate and web ACL; the network
    policies the public subnets (where the ALB's targets are reached from) and
    the database subnets (the data tier). ``monitoring`` renders the
    ServiceMonitors and alert rules (the platform layer installs their CRDs).
    Probe timings, default resources and alert thresholds are the chart's own
    defaults (charts/kreo-marketplace/values.yaml, from the seed) and are not
    repeated here.
    """
    plan = config.network.subnet_plan()
    services: Values = {}
    for name, service in config.services.items():
        entry: Values = {
            "port": service.port,
            # The release's build (a tag, and its digest when config names one).
            "image": _image(
                repository_urls[name],
                *split_image_tag(service.image_tag or config.application.image_tag),
            ),
            "autoscaling": {
                "minReplicas": service.autoscaling.min_replicas,
                "maxReplicas": service.autoscaling.max_replicas,
                "targetCPUUtilizationPercentage": service.autoscaling.target_cpu_percent,
                "targetMemoryUtilizationPercentage": service.autoscaling.target_memory_percent,
            },
            "resources": {
                "requests": {"cpu": service.requests.cpu, "memory": service.requests.memory},
                "limits": {"cpu": service.limits.cpu, "memory": service.limits.memory},
            },
            "iamRoleArn": role_arns[name],
            "database": {"user": database_user(name), "readerUser": database_reader(name)},
        }
        if service.path is None:
            entry["gateway"] = True
        else:
            entry["path"] = service.path
        if service.calls:
            entry["calls"] = list(service.calls)
        if service.secrets:
            entry["secrets"] = _secret_map(config, service.secrets)
        services[name] = entry
    return {
        "config": settings(config, data, edge),
        "externalSecrets": {
            "storeName": SECRET_STORE,
            "refreshInterval": SECRET_REFRESH,
            "shared": _secret_map(config, config.application.shared_secrets),
        },
        "services": services,
        "databaseRoles": database_roles(config, data),
        "ingress": {
            "enabled": True,
            "className": INGRESS_CLASS,
            "host": config.dns.api_fqdn,
            "certificateArn": edge.certificate_arn,
            "wafAclArn": edge.web_acl_arn,
            "sslPolicy": ALB_SSL_POLICY,
            # The load balancer is as protected as the environment's data.
            "deletionProtection": config.database.deletion_protection,
            "idleTimeoutSeconds": 60,
        },
        "networkPolicy": {
            "loadBalancerCidrs": list(plan.public),
            "dataCidrs": list(plan.database),
            "dataPorts": list(DATA_PORTS),
            "monitoringNamespace": MONITORING_NAMESPACE,
            "scraperPodLabels": dict(PROMETHEUS_POD_LABELS),
            "dnsNamespace": "kube-system",
        },
        "monitoring": {"enabled": monitoring, "metricsPath": METRICS_PATH},
    }
