"""The seed deployment guide's requirements, asserted for production in one place.

The seed ("Kreo Marketplace - Guía de Deployment a Producción") describes one
environment, production. Each requirement of it this project keeps is asserted
here on what production synthesizes: the Terraform JSON of its stacks, and
charts/kreo-marketplace rendered with the values its app stack passes. The
figures are the seed's own, spelled out: config/ may move a value (from
defaults.yaml to production.yaml, say) but production must still come out as
the seed says. Where the project departs from the seed on purpose
(docs/decisions.md), the departure is asserted too: the seed's own nodes cannot
hold its pods.

This is the one test module that names an environment (tests/test_environment_names.py
proves that no other does); every other test runs over every environment of config/.
"""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import PROJECT_ROOT, Synthesis
from tests.runtime.capacity import (
    CASES,
    check,
    environment,
    is_hook,
    load_upstream,
    release_values,
    render_chart,
    with_node_groups,
)
from tests.test_recovery_objectives import (
    cron_interval_minutes,
    database_mechanisms,
    worst_case_rpo,
)

PRODUCTION = "production"
"""The environment the seed describes."""

PORTS = {
    "api-gateway": 3000,
    "auth-service": 3001,
    "product-service": 3004,
    "order-service": 3005,
    "payment-service": 3006,
}
"""Seed: the services and their ports (docker-compose, the manifests, the Ingress)."""

ROUTES = {
    "/api/auth": "auth-service",
    "/api/products": "product-service",
    "/api/orders": "order-service",
    "/api/payments": "payment-service",
}
"""Seed: the Ingress paths of api.kreo.com (NGINX sends everything else to the gateway)."""

DOMAIN = "kreo.com"


@pytest.fixture(scope="module")
def production(synthesis: Synthesis) -> EnvironmentConfig:
    return synthesis.environment(PRODUCTION)


def stack(config: EnvironmentConfig, layer: str) -> str:
    return f"{config.stack_prefix}-{layer}"


def resources(
    synthesis: Synthesis, config: EnvironmentConfig, layer: str, kind: str
) -> dict[str, dict[str, Any]]:
    """Production's resources of ``kind`` in its ``layer`` stack, by construct path."""
    return synthesis.resources(stack(config, layer), kind)


@pytest.fixture(scope="module")
def chart(synthesis: Synthesis, production: EnvironmentConfig) -> dict[str, dict[str, Any]]:
    """``{kind: {name: object}}`` of charts/kreo-marketplace as production's app stack
    installs it (hooks left out)."""
    (release,) = resources(synthesis, production, "app", "helm_release").values()
    documents = render_chart(
        PROJECT_ROOT / "charts" / "kreo-marketplace",
        release_values(release),
        name=release["name"],
        namespace=release["namespace"],
    )
    objects: dict[str, dict[str, Any]] = {}
    for document in documents:
        if not is_hook(document):
            objects.setdefault(document["kind"], {})[document["metadata"]["name"]] = document
    return objects


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


# --- Kubernetes: the manifests, the HPA, the Ingress -------------------------------------------


def test_the_seed_services_run(chart: dict[str, dict[str, Any]]) -> None:
    assert set(chart["Deployment"]) == set(PORTS)
    assert set(chart["Service"]) == set(PORTS)


def test_every_service_scales_from_3_to_10_at_70_cpu_80_memory(
    chart: dict[str, dict[str, Any]],
) -> None:
    """Seed: HorizontalPodAutoscaler minReplicas 3, maxReplicas 10, CPU 70 %, memory 80 %."""
    autoscalers = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa
        for hpa in chart["HorizontalPodAutoscaler"].values()
    }
    assert set(autoscalers) == set(PORTS)
    for name, hpa in autoscalers.items():
        spec = hpa["spec"]
        assert spec["scaleTargetRef"]["kind"] == "Deployment", name
        assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10), name
        targets = {
            metric["resource"]["name"]: metric["resource"]["target"]
            for metric in spec["metrics"]
            if metric["type"] == "Resource"
        }
        assert targets == {
            "cpu": {"type": "Utilization", "averageUtilization": 70},
            "memory": {"type": "Utilization", "averageUtilization": 80},
        }, name


def test_every_service_requests_500m_512mi_within_1000m_1gi(
    chart: dict[str, dict[str, Any]],
) -> None:
    """Seed: resources.requests 500m / 512Mi, resources.limits 1000m / 1Gi."""
    for name, deployment in chart["Deployment"].items():
        assert container(deployment)["resources"] == {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"cpu": "1000m", "memory": "1Gi"},
        }, name


def test_every_service_listens_on_its_seed_port(chart: dict[str, dict[str, Any]]) -> None:
    for name, port in PORTS.items():
        (container_port,) = container(chart["Deployment"][name])["ports"]
        assert (container_port["name"], container_port["containerPort"]) == ("http", port), name
        (service_port,) = chart["Service"][name]["spec"]["ports"]
        assert (service_port["port"], service_port["targetPort"]) == (port, "http"), name


def test_health_probes_are_the_seeds(chart: dict[str, dict[str, Any]]) -> None:
    """Seed: livenessProbe GET /health after 30 s every 10 s; readinessProbe GET /health
    after 5 s every 5 s (on the service's port, named ``http``)."""
    for name, deployment in chart["Deployment"].items():
        probes = container(deployment)
        expected = {"livenessProbe": (30, 10), "readinessProbe": (5, 5)}
        for probe, (delay, period) in expected.items():
            settings = probes[probe]
            assert settings["httpGet"] == {"path": "/health", "port": "http"}, (name, probe)
            timing = (settings["initialDelaySeconds"], settings["periodSeconds"])
            assert timing == (delay, period), (name, probe)


def test_the_ingress_routes_the_seed_paths_and_the_rest_to_the_gateway(
    chart: dict[str, dict[str, Any]],
) -> None:
    (ingress,) = chart["Ingress"].values()
    spec = ingress["spec"]
    assert [tls["hosts"] for tls in spec["tls"]] == [[f"api.{DOMAIN}"]]
    (rule,) = spec["rules"]
    assert rule["host"] == f"api.{DOMAIN}"
    routes = {
        path["path"]: (path["pathType"], path["backend"]["service"])
        for path in rule["http"]["paths"]
    }
    expected = {**ROUTES, "/": "api-gateway"}
    assert routes == {
        path: ("Prefix", {"name": service, "port": {"number": PORTS[service]}})
        for path, service in expected.items()
    }
    # The catch-all comes last: the load balancer matches the first rule that fits.
    assert rule["http"]["paths"][-1]["path"] == "/"


def test_the_seed_settings_reach_the_services(chart: dict[str, dict[str, Any]]) -> None:
    """Seed: the non-secret settings of .env.production and the ConfigMap."""
    (config_map,) = [c for c in chart["ConfigMap"].values() if "NODE_ENV" in c.get("data", {})]
    assert {
        "NODE_ENV": "production",
        "AWS_REGION": "us-east-1",
        "DATABASE_SSL": "true",
        "DATABASE_POOL_MIN": "10",
        "DATABASE_POOL_MAX": "50",
        "REDIS_TLS": "true",
        "JWT_ALGORITHM": "RS256",
        "JWT_EXPIRES_IN": "7d",
        "JWT_REFRESH_EXPIRES_IN": "30d",
        "STRIPE_API_VERSION": "2023-10-16",
        "EMAIL_FROM": f"noreply@{DOMAIN}",
        "EMAIL_FROM_NAME": "Kreo Marketplace",
        "CUSTOMER_APP_URL": f"https://www.{DOMAIN}",
        "VENDOR_PORTAL_URL": f"https://vendors.{DOMAIN}",
        "API_GATEWAY_URL": f"https://api.{DOMAIN}",
        "CORS_ORIGINS": f"https://www.{DOMAIN},https://vendors.{DOMAIN}",
        "RATE_LIMIT_WINDOW_MS": "60000",
        "RATE_LIMIT_MAX_REQUESTS": "1000",
        "ENABLE_2FA": "true",
        "ENABLE_OAUTH": "true",
        "MAINTENANCE_MODE": "false",
    }.items() <= config_map["data"].items()


# --- AWS: network, data, edge --------------------------------------------------------------------


def test_the_vpc_is_10_0_0_0_16_over_three_zones(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """Seed: the VPC module's cidr 10.0.0.0/16 and three availability zones."""
    (vpc,) = resources(synthesis, production, "network", "aws_vpc").values()
    assert vpc["cidr_block"] == "10.0.0.0/16"
    subnets = resources(synthesis, production, "network", "aws_subnet")
    for tier in ("public", "private"):
        zones = {
            s["availability_zone_id"]
            for path, s in subnets.items()
            if path.startswith(f"vpc/{tier}-")
        }
        assert len(zones) == 3, tier
    assert len({s["availability_zone_id"] for s in subnets.values()}) == 3
    for provider in synthesis.stack(stack(production, "network"))["provider"]["aws"]:
        if "alias" not in provider:
            assert provider["region"] == "us-east-1"  # seed: AWS_REGION


def test_postgres_is_a_multi_az_db_t3_medium_of_100_gb_with_a_week_of_backups(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """Seed: RDS PostgreSQL db.t3.medium, 100 GB, backup_retention_period 7; "Multi-AZ";
    "read replicas para consultas" (one)."""
    instances = resources(synthesis, production, "data", "aws_db_instance")
    primary = instances["postgres/primary"]
    assert primary["engine"] == "postgres"
    assert primary["instance_class"] == "db.t3.medium"
    assert primary["allocated_storage"] == 100
    assert primary["backup_retention_period"] == 7
    assert primary["multi_az"] is True
    assert primary["storage_encrypted"] is True
    identifier = synthesis.ref(
        stack(production, "data"), "aws_db_instance", "postgres/primary", "identifier"
    )
    replicas = [i for i in instances.values() if i.get("replicate_source_db") == identifier]
    assert len(replicas) == 1
    assert replicas[0]["instance_class"] == "db.t3.medium"


def test_the_cache_is_cache_t3_medium_over_tls(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """Seed: ElastiCache Redis cache.t3.medium; REDIS_TLS=true."""
    (group,) = resources(
        synthesis, production, "data", "aws_elasticache_replication_group"
    ).values()
    assert group["node_type"] == "cache.t3.medium"
    assert group["transit_encryption_enabled"] is True


def test_the_media_bucket_is_the_seeds(synthesis: Synthesis, production: EnvironmentConfig) -> None:
    """Seed: AWS_S3_BUCKET=kreo-marketplace-produccion."""
    buckets = resources(synthesis, production, "data", "aws_s3_bucket")
    assert buckets["storage/media/bucket"]["bucket"] == "kreo-marketplace-produccion"


def test_the_nginx_rate_limit_holds_per_client_ip(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """Seed NGINX: ``limit_req rate=100r/s burst=200 nodelay`` per client address. WAF
    counts over a window: 100 r/s for 60 s plus the burst of 200 is 6,200 per 60 s."""
    acls = resources(synthesis, production, "edge", "aws_wafv2_web_acl")
    assert {acl["scope"] for acl in acls.values()} == {"REGIONAL", "CLOUDFRONT"}
    for path, acl in acls.items():
        limits = [
            rule["statement"]["rate_based_statement"]
            for rule in acl["rule"]
            if "rate_based_statement" in rule["statement"]
        ]
        assert limits == [
            {"aggregate_key_type": "IP", "evaluation_window_sec": 60, "limit": 6200}
        ], path


def test_the_domain_is_kreo_com_with_the_seed_hosts(
    synthesis: Synthesis, production: EnvironmentConfig, chart: dict[str, dict[str, Any]]
) -> None:
    """Seed: api.kreo.com (the gateway), www.kreo.com (customers), vendors.kreo.com
    (vendors), all on HTTPS."""
    (zone,) = resources(synthesis, production, "edge", "aws_route53_zone").values()
    assert zone["name"] == DOMAIN
    certificates = resources(synthesis, production, "edge", "aws_acm_certificate")
    named = {
        name
        for certificate in certificates.values()
        for name in [certificate["domain_name"], *certificate.get("subject_alternative_names", [])]
    }
    assert {f"api.{DOMAIN}", f"www.{DOMAIN}", f"vendors.{DOMAIN}"} <= named
    distributions = resources(synthesis, production, "edge", "aws_cloudfront_distribution")
    aliases = {alias for d in distributions.values() for alias in d.get("aliases", [])}
    assert {f"www.{DOMAIN}", f"vendors.{DOMAIN}"} <= aliases
    (ingress,) = chart["Ingress"].values()
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [f"api.{DOMAIN}"]


# --- backup and recovery -------------------------------------------------------------------------


def test_the_recovery_point_is_under_an_hour(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """Seed: "RPO (Recovery Point Objective): < 1 hora", whatever fails (tests/
    test_recovery_objectives.py derives it from the synthesized mechanisms)."""
    mechanisms = database_mechanisms(synthesis, production)
    rpo, failure = worst_case_rpo(mechanisms)
    assert rpo < 60, f"{failure}: {rpo} minutes ({mechanisms[failure]})"
    assert mechanisms["region loss"], "nothing survives the loss of the region"


def test_critical_data_is_backed_up_daily_and_replicated_to_another_region(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """Seed: "Backups automáticos diarios", "Snapshots de volúmenes EBS", "Replicación
    multi-región para datos críticos"."""
    plans = resources(synthesis, production, "backup", "aws_backup_plan")
    assert set(plans) == {"database/plan", "volumes/plan"}
    for path, plan in plans.items():
        daily = [r for r in plan["rule"] if cron_interval_minutes(r["schedule"]) == 24 * 60]
        assert daily, path
        assert all(r.get("copy_action") for r in daily), path
    data = stack(production, "data")
    (replication,) = synthesis.resources(data, "aws_s3_bucket_replication_configuration").values()
    (rule,) = replication["rule"]
    assert rule["status"] == "Enabled"
    assert rule["delete_marker_replication"]["status"] == "Enabled"
    secrets = synthesis.resources(data, "aws_secretsmanager_secret")
    assert secrets
    assert all(s.get("replica") for s in secrets.values())


# --- where the project departs from the seed -----------------------------------------------------


def test_the_seed_nodes_do_not_fit(synthesis: Synthesis, production: EnvironmentConfig) -> None:
    """Seed eksctl: t3.medium x 3..10 in one group over three zones. That holds neither
    the services' minimum (15 x 500m on ~1450m left per node) nor their maximum, so
    config/ sizes the nodes otherwise (docs/architecture.md, "Capacity")."""
    upstream = load_upstream()
    load = with_node_groups(
        synthesis.stack, production.name, instance_types=["t3.medium"], min_size=3,
        max_size=10, zonal=False,
    )  # fmt: skip
    seed = environment(load, production.name, upstream)
    (group,) = seed.node_groups
    assert group.nodes_per_zone("min") == dict.fromkeys(group.zones, 1)
    assert sorted(group.nodes_per_zone("max").values()) == [3, 3, 4]
    for case in CASES:
        fit = check(seed, case)
        assert not fit.fits
        assert any("(app)" in item for item in fit.unplaced), fit.unplaced
        assert (fit.daemonset_cpu, fit.daemonset_pods) >= (480, 7)


# --- the config (from tests/kreo_infra/config/test_models.py) ------------------------------------


@pytest.fixture(scope="module")
def staging(synthesis: Synthesis) -> EnvironmentConfig:
    """Staging, where the seed's own staging notes (smaller, same architecture) apply."""
    return synthesis.environment("staging")


def test_regions_from_the_seed(production: EnvironmentConfig) -> None:
    assert (production.region, production.dr_region) == ("us-east-1", "us-west-2")


def test_vpc_from_the_seed(production: EnvironmentConfig) -> None:
    assert production.network.vpc_cidr == "10.0.0.0/16"
    assert len(set(production.network.availability_zone_ids)) == 3
    assert production.network.single_nat_gateway is False


def test_node_group_sized_for_the_seeds_pods(production: EnvironmentConfig) -> None:
    """Not the seed's t3.medium x 3-10 (it cannot hold the seed's pods:
    tests/test_capacity.py), but 4-vCPU nodes, 2-5 per zone."""
    group = production.cluster.node_groups["general"]
    assert group.instance_types == ["m7i.xlarge", "m6i.xlarge"]
    assert group.zonal is True
    assert (group.min_size, group.desired_size, group.max_size) == (2, 2, 5)
    assert group.node_bounds(3) == (6, 15)


def test_database_from_the_seed(production: EnvironmentConfig) -> None:
    db = production.database
    assert int(db.engine_version.split(".")[0]) >= 15
    assert db.instance_class == "db.t3.medium"
    assert db.allocated_storage_gb == 100
    assert db.backup_retention_days >= 7
    assert db.multi_az
    assert db.deletion_protection
    assert db.read_replicas >= 1


def test_cache_from_the_seed(production: EnvironmentConfig) -> None:
    assert production.cache.node_type == "cache.t3.medium"
    assert production.cache.transit_encryption is True


def test_hosts_from_the_seed(production: EnvironmentConfig) -> None:
    dns = production.dns
    assert (dns.api_fqdn, dns.www_fqdn, dns.vendors_fqdn, dns.cdn_fqdn) == (
        "api.kreo.com",
        "www.kreo.com",
        "vendors.kreo.com",
        "cdn.kreo.com",
    )


def test_production_owns_the_apex(production: EnvironmentConfig) -> None:
    dns = production.dns
    assert dns.domain == dns.apex == "kreo.com"
    assert (dns.zone, dns.delegate_from) == ("create", None)


def test_names_from_the_seed(production: EnvironmentConfig) -> None:
    """Production keeps the names it had before environments derived theirs."""
    assert production.stack_prefix == "kreo-production"
    assert production.cluster_name == "kreo-production"
    assert production.secrets_prefix == "kreo/production/"
    assert production.storage.media_bucket == "kreo-marketplace-produccion"  # seed: AWS_S3_BUCKET
    assert production.storage.access_logs_bucket == "kreo-marketplace-produccion-access-logs"
    assert (production.edge.www_bucket, production.edge.vendors_bucket) == (
        "kreo-marketplace-www",
        "kreo-marketplace-vendors",
    )
    assert production.edge.logs_bucket == "kreo-marketplace-cdn-logs"


SEED_SERVICES = {
    "api-gateway": (3000, None),
    "auth-service": (3001, "/api/auth"),
    "product-service": (3004, "/api/products"),
    "order-service": (3005, "/api/orders"),
    "payment-service": (3006, "/api/payments"),
}


def test_services_from_the_seed(production: EnvironmentConfig) -> None:
    assert {n: (s.port, s.path) for n, s in production.services.items()} == SEED_SERVICES
    for service in production.services.values():
        hpa = service.autoscaling
        assert (hpa.min_replicas, hpa.max_replicas) == (3, 10)
        assert (hpa.target_cpu_percent, hpa.target_memory_percent) == (70, 80)
        assert (service.requests.cpu, service.requests.memory) == ("500m", "512Mi")
        assert (service.limits.cpu, service.limits.memory) == ("1000m", "1Gi")


def test_application_settings_from_the_seed(production: EnvironmentConfig) -> None:
    app = production.application
    assert app.cors_origins == ["https://www.kreo.com", "https://vendors.kreo.com"]
    assert (app.rate_limit.window_ms, app.rate_limit.max_requests) == (60000, 1000)
    assert (app.edge_rate_limit.requests_per_second, app.edge_rate_limit.burst) == (100, 200)
    assert app.edge_rate_limit.evaluation_window_seconds == 60


def test_one_gateway_and_secrets_by_need(production: EnvironmentConfig) -> None:
    gateways = [n for n, s in production.services.items() if s.path is None]
    assert gateways == ["api-gateway"]
    stripe = {n for n, s in production.services.items() if any("stripe" in x for x in s.secrets)}
    assert stripe == {"payment-service"}
    assert production.application.image_tag == "1.0.0"


def test_staging_is_smaller_and_unprotected(staging: EnvironmentConfig) -> None:
    assert staging.network.single_nat_gateway is True
    assert staging.database.deletion_protection is False
    assert staging.database.multi_az is False
    assert staging.cluster.node_groups["general"].max_size < 10
    assert staging.dns.domain == "staging.kreo.com"
    assert staging.application.cors_origins == [
        "https://www.staging.kreo.com",
        "https://vendors.staging.kreo.com",
    ]


def test_staging_keeps_the_architecture(
    staging: EnvironmentConfig, production: EnvironmentConfig
) -> None:
    assert staging.network.vpc_cidr == production.network.vpc_cidr
    assert staging.services.keys() == production.services.keys()
    assert staging.cluster.kubernetes_version == production.cluster.kubernetes_version
    assert staging.database.engine_version == production.database.engine_version


def test_staging_is_delegated_from_productions_apex(
    staging: EnvironmentConfig, production: EnvironmentConfig
) -> None:
    assert (staging.dns.domain, staging.dns.delegate_from) == ("staging.kreo.com", "kreo.com")
    assert staging.dns.delegate_from == production.dns.domain


# --- decisions made on the seed's sizes (production) --------------------------------------------


def test_production_nodes_hold_the_seeds_pods(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """6 to 15 four-vCPU nodes, not the seed's 3 to 10 t3.medium (docs/decisions.md 61)."""
    groups = resources(synthesis, production, "cluster", "aws_eks_node_group").values()
    assert {tuple(g["instance_types"]) for g in groups} == {("m7i.xlarge", "m6i.xlarge")}
    assert sum(g["scaling_config"]["min_size"] for g in groups) == 6
    assert sum(g["scaling_config"]["max_size"] for g in groups) == 15


def test_search_is_opensearch_over_three_zones_with_masters(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    """Seed: Elasticsearch Service, now Amazon OpenSearch Service."""
    (domain,) = resources(synthesis, production, "data", "aws_opensearch_domain").values()
    assert domain["engine_version"].startswith("OpenSearch_")
    cluster = domain["cluster_config"]
    assert cluster["zone_awareness_enabled"] is True
    assert cluster["zone_awareness_config"] == {"availability_zone_count": 3}
    assert cluster["dedicated_master_enabled"] is True
    assert cluster["dedicated_master_count"] == 3


def test_the_cache_fails_over_across_zones(
    synthesis: Synthesis, production: EnvironmentConfig
) -> None:
    (group,) = resources(
        synthesis, production, "data", "aws_elasticache_replication_group"
    ).values()
    assert group["num_cache_clusters"] >= 2
    assert group["automatic_failover_enabled"] is True
    assert group["multi_az_enabled"] is True


def test_every_seed_secret_reaches_a_service(chart: dict[str, dict[str, Any]]) -> None:
    keys = {
        item["secretKey"]
        for secret in chart["ExternalSecret"].values()
        for item in secret["spec"]["data"]
    }
    assert keys == {
        "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY", "SENDGRID_API_KEY",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SHIPPO_API_KEY", "JWT_SECRET",
        "JWT_REFRESH_SECRET", "SENTRY_DSN", "NEW_RELIC_LICENSE_KEY", "DATADOG_API_KEY",
    }  # fmt: skip
