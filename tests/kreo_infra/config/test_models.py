"""The committed config: the seed's values and what staging changes."""

from __future__ import annotations

import pytest

from kreo_infra.config import EnvironmentConfig


@pytest.fixture(scope="module")
def production(configs: list[EnvironmentConfig]) -> EnvironmentConfig:
    return next(c for c in configs if c.name == "production")


@pytest.fixture(scope="module")
def staging(configs: list[EnvironmentConfig]) -> EnvironmentConfig:
    return next(c for c in configs if c.name == "staging")


def test_environments_are_staging_and_production(configs: list[EnvironmentConfig]) -> None:
    assert sorted(c.name for c in configs) == ["production", "staging"]


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


def test_node_bounds_of_a_group_over_all_zones(production: EnvironmentConfig) -> None:
    group = production.cluster.node_groups["general"].model_copy(update={"zonal": False})
    assert group.node_bounds(3) == (2, 5)


def test_cluster_endpoint_private_by_default(production: EnvironmentConfig) -> None:
    assert production.cluster.endpoint_public_access is False


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
    assert (dns.api_fqdn, dns.www_fqdn, dns.vendors_fqdn) == (
        "api.kreo.com",
        "www.kreo.com",
        "vendors.kreo.com",
    )


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


def test_staging_is_smaller_and_unprotected(
    staging: EnvironmentConfig, production: EnvironmentConfig
) -> None:
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


def test_stack_prefix(production: EnvironmentConfig) -> None:
    assert production.stack_prefix == "kreo-production"


def test_cluster_defaults(production: EnvironmentConfig) -> None:
    from kreo_infra.config.models import ADDONS, EKS_STANDARD_SUPPORT

    cluster = production.cluster
    assert cluster.kubernetes_version in EKS_STANDARD_SUPPORT
    assert sorted(cluster.addons) == sorted(ADDONS)
    assert cluster.admin_role_names == ["kreo-platform-admin"]
    assert cluster.readonly_role_names == ["kreo-platform-readonly"]


def test_every_environment_agrees_on_the_account_level_settings(
    configs: list[EnvironmentConfig],
) -> None:
    # kreo-bootstrap creates the repositories and the access roles once per account.
    assert len({c.registry for c in configs}) == 1
    assert len({tuple(c.delivery.access_roles.items()) for c in configs}) == 1
    assert sorted(configs[0].delivery.access_roles) == [
        "kreo-platform-admin",
        "kreo-platform-readonly",
    ]


def test_database_pins_the_major_version_only(configs: list[EnvironmentConfig]) -> None:
    for config in configs:
        assert config.database.engine_version.isdigit(), config.name


def test_names_derived_from_the_environment(production: EnvironmentConfig) -> None:
    assert production.cluster_name == "kreo-production"
    assert production.secrets_prefix == "kreo/production/"
    assert production.storage.media_bucket == "kreo-marketplace-produccion"


def test_edge_hosts_and_zones(production: EnvironmentConfig, staging: EnvironmentConfig) -> None:
    assert production.dns.cdn_fqdn == "cdn.kreo.com"
    assert (production.dns.zone, production.dns.delegate_from) == ("create", None)
    assert (staging.dns.domain, staging.dns.delegate_from) == ("staging.kreo.com", "kreo.com")
    buckets = [c.edge.www_bucket for c in (production, staging)] + [
        c.edge.vendors_bucket for c in (production, staging)
    ]
    assert len(set(buckets)) == 4


def test_edge_rate_limit_from_the_seed(production: EnvironmentConfig) -> None:
    limit = production.application.edge_rate_limit
    assert (limit.requests_per_second, limit.burst) == (100, 200)
    assert limit.evaluation_window_seconds == 60


def test_one_gateway_and_secrets_by_need(production: EnvironmentConfig) -> None:
    gateways = [n for n, s in production.services.items() if s.path is None]
    assert gateways == ["api-gateway"]
    stripe = {n for n, s in production.services.items() if any("stripe" in x for x in s.secrets)}
    assert stripe == {"payment-service"}
    assert production.application.image_tag == "1.0.0"
