"""What the models make of a config: defaults reaching an environment, what its file
overrides, and the names derived from its name (``derive_names``).

The environments are the fixture directory's (conftest.py): alpha owns the apex and
sets its names, beta derives everything. Properties every committed environment must
have use the session's ``configs`` without naming any; the seed's values are asserted
in tests/test_seed.py.
"""

from __future__ import annotations

from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig, load_environment, load_environments
from kreo_infra.config.eks import ADDONS, EKS_STANDARD_SUPPORT
from kreo_infra.config.loader import RECOVERED_NAMES, SHARED_SETTINGS
from kreo_infra.config.models import (
    DR_COPY_SUFFIX,
    ENVIRONMENT_NAME,
    UNIQUE_NAMES,
    derive_names,
)
from tests.kreo_infra.config.conftest import (
    APEX_OWNER,
    APEX_OWNER_YAML,
    SUBDOMAIN,
    override,
    write_fixture_config,
)


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture config directory, read-only here (one per module)."""
    return write_fixture_config(tmp_path_factory.mktemp("models") / "config")


@pytest.fixture(scope="module")
def defaults(fixture_dir: Path) -> dict[str, Any]:
    """The fixture's (the committed) defaults.yaml, parsed."""
    return yaml.safe_load((fixture_dir / "defaults.yaml").read_text())


@pytest.fixture(scope="module")
def environments(fixture_dir: Path) -> dict[str, EnvironmentConfig]:
    return {c.name: c for c in load_environments(fixture_dir)}


@pytest.fixture(scope="module")
def alpha(environments: dict[str, EnvironmentConfig]) -> EnvironmentConfig:
    """Owns the apex; its file sets its bucket names and its domain."""
    return environments[APEX_OWNER]


@pytest.fixture(scope="module")
def beta(environments: dict[str, EnvironmentConfig]) -> EnvironmentConfig:
    """Below the apex; its file sets only a tag and its node group sizes."""
    return environments[SUBDOMAIN]


EXPLICIT = yaml.safe_load(APEX_OWNER_YAML)
"""What alpha's file sets."""


# Defaults and overrides -----------------------------------------------------------


def test_defaults_reach_every_environment(
    alpha: EnvironmentConfig, beta: EnvironmentConfig, defaults: dict[str, Any]
) -> None:
    for config in (alpha, beta):
        assert (config.project, config.region, config.dr_region) == (
            defaults["project"],
            defaults["region"],
            defaults["dr_region"],
        )
        assert config.network.vpc_cidr == defaults["network"]["vpc_cidr"]
        assert config.network.availability_zone_ids == defaults["network"]["availability_zone_ids"]
        assert config.database.instance_class == defaults["database"]["instance_class"]
        assert config.cache.node_type == defaults["cache"]["node_type"]
        assert list(config.services) == list(defaults["services"])
        assert config.application.image_tag == defaults["application"]["image_tag"]


def test_a_mapping_override_keeps_the_other_keys(
    beta: EnvironmentConfig, defaults: dict[str, Any]
) -> None:
    """beta sets tags.cost_center only: tags.owner is still the defaults'."""
    assert beta.tags.cost_center == f"marketplace-{SUBDOMAIN}"
    assert beta.tags.cost_center != defaults["tags"]["cost_center"]
    assert beta.tags.owner == defaults["tags"]["owner"]


def test_node_group_sizes_overridden_types_inherited(
    alpha: EnvironmentConfig, beta: EnvironmentConfig, defaults: dict[str, Any]
) -> None:
    default_group = defaults["cluster"]["node_groups"]["general"]
    own = beta.cluster.node_groups["general"]
    assert (own.min_size, own.desired_size, own.max_size) == (1, 1, 2)
    assert own.instance_types == default_group["instance_types"]
    assert own.zonal is default_group["zonal"]
    assert own.disk_size_gb == default_group["disk_size_gb"]
    inherited = alpha.cluster.node_groups["general"]
    assert (inherited.min_size, inherited.desired_size, inherited.max_size) == (
        default_group["min_size"],
        default_group["desired_size"],
        default_group["max_size"],
    )


def test_node_bounds(alpha: EnvironmentConfig, beta: EnvironmentConfig) -> None:
    """A zonal group's sizes are per zone; over all zones they count once."""
    zones = beta.network.az_count
    assert zones == 3
    group = beta.cluster.node_groups["general"]
    assert group.zonal is True
    assert group.node_bounds(zones) == (3, 6)
    assert group.model_copy(update={"zonal": False}).node_bounds(zones) == (1, 2)
    inherited = alpha.cluster.node_groups["general"]
    low, high = inherited.min_size, inherited.max_size
    assert inherited.node_bounds(zones) == (low * zones, high * zones)
    assert inherited.model_copy(update={"zonal": False}).node_bounds(zones) == (low, high)


def test_cluster_endpoint_private_by_default(
    alpha: EnvironmentConfig, beta: EnvironmentConfig
) -> None:
    for config in (alpha, beta):
        assert config.cluster.endpoint_public_access is False
        assert config.cluster.public_access_cidrs == []


def test_cluster_defaults(alpha: EnvironmentConfig) -> None:
    cluster = alpha.cluster
    assert cluster.kubernetes_version in EKS_STANDARD_SUPPORT
    assert sorted(cluster.addons) == sorted(ADDONS)
    assert cluster.admin_role_names == ["kreo-platform-admin"]
    assert cluster.readonly_role_names == ["kreo-platform-readonly"]
    assert cluster.name is None


def test_zonal_shift_and_node_auto_repair_on_by_default(
    alpha: EnvironmentConfig, beta: EnvironmentConfig
) -> None:
    """defaults.yaml turns both on; an environment that sets neither (beta resizes
    its node group, alpha leaves the cluster alone) has both."""
    for config in (alpha, beta):
        assert config.cluster.zonal_shift is True
        assert [g.auto_repair for g in config.cluster.node_groups.values()] == [True]


def test_zonal_shift_and_node_auto_repair_switched_off(fixture_config: Path) -> None:
    override(
        fixture_config,
        SUBDOMAIN,
        {"cluster": {"zonal_shift": False, "node_groups": {"general": {"auto_repair": False}}}},
    )
    cluster = load_environment(fixture_config, SUBDOMAIN).cluster
    assert cluster.zonal_shift is False
    assert cluster.node_groups["general"].auto_repair is False
    assert cluster.node_groups["general"].min_size == 1  # the rest of beta's group stays


# Names from the environment's name --------------------------------------------------


def test_stack_prefix_and_names_from_the_environment(beta: EnvironmentConfig) -> None:
    assert beta.stack_prefix == f"kreo-{SUBDOMAIN}"
    assert beta.cluster_name == f"kreo-{SUBDOMAIN}"
    assert beta.secrets_prefix == f"kreo/{SUBDOMAIN}/"
    assert beta.alarm_topic_name == f"kreo-{SUBDOMAIN}-alarms"
    assert beta.deploy_role == f"kreo-deploy-{SUBDOMAIN}"


def test_an_explicit_cluster_name_wins(fixture_config: Path) -> None:
    path = fixture_config / f"{SUBDOMAIN}.yaml"
    data = yaml.safe_load(path.read_text())
    data["cluster"]["name"] = "kreo-shop"
    path.write_text(yaml.safe_dump(data))
    config = load_environment(fixture_config, SUBDOMAIN)
    assert config.cluster_name == "kreo-shop"
    assert config.stack_prefix == f"kreo-{SUBDOMAIN}"


def test_derived_bucket_names(beta: EnvironmentConfig) -> None:
    base = f"kreo-marketplace-{SUBDOMAIN}"
    assert (beta.storage.media_bucket, beta.storage.access_logs_bucket) == (
        base,
        f"{base}-access-logs",
    )
    assert (beta.edge.www_bucket, beta.edge.vendors_bucket, beta.edge.logs_bucket) == (
        f"{base}-www",
        f"{base}-vendors",
        f"{base}-cdn-logs",
    )


def test_derived_domain_is_delegated_from_the_apex(
    beta: EnvironmentConfig, defaults: dict[str, Any]
) -> None:
    apex = defaults["dns"]["apex"]
    dns = beta.dns
    assert (dns.apex, dns.domain, dns.zone, dns.delegate_from) == (
        apex,
        f"{SUBDOMAIN}.{apex}",
        "create",
        apex,
    )
    assert (dns.api_fqdn, dns.www_fqdn, dns.vendors_fqdn, dns.cdn_fqdn) == (
        f"api.{SUBDOMAIN}.{apex}",
        f"www.{SUBDOMAIN}.{apex}",
        f"vendors.{SUBDOMAIN}.{apex}",
        f"cdn.{SUBDOMAIN}.{apex}",
    )


def test_derived_cors_origins_are_the_environments_web_apps(beta: EnvironmentConfig) -> None:
    assert beta.application.cors_origins == [
        f"https://www.{SUBDOMAIN}.kreo.com",
        f"https://vendors.{SUBDOMAIN}.kreo.com",
    ]
    assert beta.application.cors_origins == [
        f"https://{beta.dns.www_fqdn}",
        f"https://{beta.dns.vendors_fqdn}",
    ]


def test_explicit_names_win(alpha: EnvironmentConfig) -> None:
    assert alpha.storage.media_bucket == EXPLICIT["storage"]["media_bucket"]
    assert alpha.storage.access_logs_bucket == EXPLICIT["storage"]["access_logs_bucket"]
    for field in ("www_bucket", "vendors_bucket", "logs_bucket"):
        assert getattr(alpha.edge, field) == EXPLICIT["edge"][field]
    assert not alpha.storage.media_bucket.startswith(f"kreo-marketplace-{APEX_OWNER}")


def test_the_apex_owner_is_not_delegated(alpha: EnvironmentConfig) -> None:
    dns = alpha.dns
    assert dns.domain == dns.apex == EXPLICIT["dns"]["domain"]
    assert (dns.zone, dns.delegate_from) == ("create", None)
    assert (dns.www_fqdn, dns.cdn_fqdn) == ("www.kreo.com", "cdn.kreo.com")
    assert alpha.application.cors_origins == ["https://www.kreo.com", "https://vendors.kreo.com"]


def test_the_two_environments_share_no_name(
    alpha: EnvironmentConfig, beta: EnvironmentConfig
) -> None:
    names = [attrgetter(path)(c) for c in (alpha, beta) for path in UNIQUE_NAMES]
    assert len(set(names)) == 2 * len(UNIQUE_NAMES)
    assert alpha.dns.domain != beta.dns.domain
    assert alpha.cluster_name != beta.cluster_name


def test_a_partly_named_environment_derives_the_rest(fixture_config: Path) -> None:
    """Setting the media bucket does not rename its access-logs bucket."""
    (fixture_config / f"{SUBDOMAIN}.yaml").write_text(
        'account_id: "222222222222"\nstorage: {media_bucket: kreo-shop-media}\n'
    )
    config = load_environment(fixture_config, SUBDOMAIN)
    assert config.storage.media_bucket == "kreo-shop-media"
    assert config.storage.access_logs_bucket == f"kreo-marketplace-{SUBDOMAIN}-access-logs"
    assert config.edge.www_bucket == f"kreo-marketplace-{SUBDOMAIN}-www"


def test_the_longest_environment_name_derives_valid_names(fixture_config: Path) -> None:
    name = "a" * 20
    assert ENVIRONMENT_NAME.match(name)
    (fixture_config / f"{name}.yaml").write_text('account_id: "333333333333"\n')
    config = load_environments(fixture_config, [name])[0]
    assert config.storage.access_logs_bucket == f"kreo-marketplace-{name}-access-logs"
    assert config.state.bucket == f"kreo-infra-terraform-state-{name}"
    assert config.dns.domain == f"{name}.kreo.com"


# derive_names, the rule itself --------------------------------------------------------


def minimal(**sections: Any) -> dict[str, Any]:
    """The parts of a merged config :func:`derive_names` reads."""
    data: dict[str, Any] = {
        "name": SUBDOMAIN,
        "project": "kreo",
        "storage": {},
        "edge": {},
        "dns": {"apex": "kreo.com", "www_host": "www", "vendors_host": "vendors"},
        "application": {},
    }
    for section, values in sections.items():
        data[section] = {**data[section], **values}
    return data


def test_derive_names_needs_a_name_and_a_project() -> None:
    assert derive_names({"project": "kreo", "storage": {}}) == {"project": "kreo", "storage": {}}
    assert derive_names({"name": SUBDOMAIN, "storage": {}}) == {"name": SUBDOMAIN, "storage": {}}


def test_derive_names_leaves_its_input_alone() -> None:
    data = minimal()
    derive_names(data)
    assert data == minimal()


def test_derived_names_follow_the_project() -> None:
    derived = derive_names({**minimal(), "project": "acme"})
    assert derived["storage"]["media_bucket"] == f"acme-marketplace-{SUBDOMAIN}"


def test_an_existing_zone_is_not_delegated() -> None:
    dns = derive_names(minimal(dns={"zone": "existing"}))["dns"]
    assert dns["domain"] == f"{SUBDOMAIN}.kreo.com"
    assert "delegate_from" not in dns


def test_an_explicit_domain_below_the_apex_is_delegated_from_the_apex() -> None:
    derived = derive_names(minimal(dns={"domain": "shop.kreo.com"}))
    assert (derived["dns"]["domain"], derived["dns"]["delegate_from"]) == (
        "shop.kreo.com",
        "kreo.com",
    )
    assert derived["application"]["cors_origins"] == [
        "https://www.shop.kreo.com",
        "https://vendors.shop.kreo.com",
    ]


def test_an_explicit_delegation_wins() -> None:
    derived = derive_names(
        minimal(dns={"domain": "a.shop.kreo.com", "delegate_from": "shop.kreo.com"})
    )
    assert derived["dns"]["delegate_from"] == "shop.kreo.com"


def test_explicit_cors_origins_win() -> None:
    origins = ["https://shop.example.com"]
    derived = derive_names(minimal(application={"cors_origins": origins}))
    assert derived["application"]["cors_origins"] == origins


def test_explicit_cors_origins_win_through_the_loader(fixture_config: Path) -> None:
    path = fixture_config / f"{SUBDOMAIN}.yaml"
    path.write_text(
        path.read_text() + "application: {cors_origins: ['https://shop.example.com']}\n"
    )
    config = load_environment(fixture_config, SUBDOMAIN)
    assert config.application.cors_origins == ["https://shop.example.com"]


# Every committed environment --------------------------------------------------------


def test_every_environment_agrees_on_the_shared_settings(
    configs: list[EnvironmentConfig],
) -> None:
    # One registry (the apex owner's bootstrap), the same access roles in every account.
    assert len({c.registry for c in configs}) == 1
    assert len({tuple(c.delivery.access_roles.items()) for c in configs}) == 1
    for setting in SHARED_SETTINGS:
        values = [attrgetter(setting)(c) for c in configs]
        assert all(v == values[0] for v in values), setting
    assert sorted(configs[0].delivery.access_roles) == [
        "kreo-platform-admin",
        "kreo-platform-readonly",
    ]


def test_database_pins_the_major_version_only(configs: list[EnvironmentConfig]) -> None:
    for config in configs:
        assert config.database.engine_version.isdigit(), config.name


def test_every_environment_has_names_of_its_own(configs: list[EnvironmentConfig]) -> None:
    """A recovery environment's zone, secrets and media are the recovered environment's
    (its replicas and DR copy, RECOVERED_NAMES); every other name is its own."""
    names = [
        attrgetter(path)(c)
        for c in configs
        for path in UNIQUE_NAMES
        if c.recovery_of is None or path not in RECOVERED_NAMES
    ]
    assert len(set(names)) == len(names)
    for attribute in ("stack_prefix", "cluster_name", "deploy_role"):
        assert len({getattr(c, attribute) for c in configs}) == len(configs), attribute
    own = [c for c in configs if c.recovery_of is None]
    assert len({c.secrets_prefix for c in own}) == len(own)
    assert len({c.dns.domain for c in own}) == len(own)
    by_name = {c.name: c for c in configs}
    for recovery in (c for c in configs if c.recovery_of is not None):
        recovered = by_name[recovery.recovery_of]
        assert recovery.secrets_prefix == recovered.secrets_prefix, recovery.name
        assert recovery.dns.domain == recovered.dns.domain, recovery.name
        assert recovery.storage.media_bucket == (
            f"{recovered.storage.media_bucket}{DR_COPY_SUFFIX}"
        ), recovery.name


def test_one_environment_owns_the_apex_the_others_are_delegated_from_it(
    configs: list[EnvironmentConfig],
) -> None:
    """Of the environments of their own; a recovery environment serves the recovered
    environment's zone, looked up, never created or delegated."""
    own = [c for c in configs if c.recovery_of is None]
    owners = [c for c in own if c.dns.domain == c.dns.apex]
    assert len(owners) == 1
    for config in own:
        if config is not owners[0]:
            assert config.dns.domain.endswith(f".{config.dns.apex}"), config.name
            assert config.dns.delegate_from == config.dns.apex, config.name
    by_name = {c.name: c for c in configs}
    for recovery in (c for c in configs if c.recovery_of is not None):
        assert recovery.dns.domain == by_name[recovery.recovery_of].dns.domain, recovery.name
        assert (recovery.dns.zone, recovery.dns.delegate_from) == ("existing", None)


def test_every_environment_allows_its_own_web_apps(configs: list[EnvironmentConfig]) -> None:
    for config in configs:
        origins = config.application.cors_origins
        assert f"https://{config.dns.www_fqdn}" in origins, config.name
        assert f"https://{config.dns.vendors_fqdn}" in origins, config.name
