"""Bad config stops with one line naming the file, the field path and the problem.

Each test breaks the fixture directory (conftest.py: the committed defaults plus the
environments alpha and beta of its own), so no test depends on which environments
config/ defines; expected values come from the fixture's content.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import ConfigError, load_environment, load_environments
from kreo_infra.config.eks import EKS_STANDARD_SUPPORT
from kreo_infra.config.loader import (
    available_environments,
    deep_merge,
    parse_environment_list,
)
from tests.conftest import CONFIG_DIR
from tests.kreo_infra.config.conftest import APEX_OWNER, SUBDOMAIN, override


def read(config_dir: Path, stem: str) -> dict[str, Any]:
    """The parsed ``<stem>.yaml`` of ``config_dir``."""
    return yaml.safe_load((config_dir / f"{stem}.yaml").read_text()) or {}


def merged(config_dir: Path, env: str) -> dict[str, Any]:
    """``<env>.yaml`` over the defaults, as the loader merges them (before derivation)."""
    return deep_merge(read(config_dir, "defaults"), read(config_dir, env))


def edit(config_dir: Path, stem: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """Apply ``change`` to the parsed ``<stem>.yaml`` and write it back; the file."""
    path = config_dir / f"{stem}.yaml"
    data = read(config_dir, stem)
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


def error_of(config_dir: Path, env: str = APEX_OWNER) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_environment(config_dir, env)
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


def test_committed_config_is_valid() -> None:
    names = [c.name for c in load_environments(CONFIG_DIR)]
    assert names
    assert names == available_environments(CONFIG_DIR)


def test_fixture_config_is_valid(fixture_config: Path) -> None:
    assert available_environments(fixture_config) == [APEX_OWNER, SUBDOMAIN]
    assert [c.name for c in load_environments(fixture_config)] == [APEX_OWNER, SUBDOMAIN]


def test_environments_load_in_the_order_asked(fixture_config: Path) -> None:
    loaded = load_environments(fixture_config, [SUBDOMAIN, APEX_OWNER])
    assert [c.name for c in loaded] == [SUBDOMAIN, APEX_OWNER]
    assert [c.name for c in load_environments(fixture_config, [SUBDOMAIN])] == [SUBDOMAIN]


def test_no_environment_files(fixture_config: Path) -> None:
    for env in (APEX_OWNER, SUBDOMAIN):
        (fixture_config / f"{env}.yaml").unlink()
    with pytest.raises(ConfigError) as caught:
        load_environments(fixture_config)
    assert caught.value.problem == "no environment files found"


def test_an_account_id_is_all_an_environment_file_needs(fixture_config: Path) -> None:
    (fixture_config / f"{SUBDOMAIN}.yaml").write_text('account_id: "222222222222"\n')
    config = load_environment(fixture_config, SUBDOMAIN)
    defaults = read(fixture_config, "defaults")
    assert config.tags.cost_center == defaults["tags"]["cost_center"]
    assert config.storage.media_bucket == f"kreo-marketplace-{SUBDOMAIN}"


def test_an_environment_names_its_own_account(fixture_config: Path) -> None:
    path = fixture_config / f"{SUBDOMAIN}.yaml"
    path.write_text("")
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.file, error.path) == (str(path), "account_id")
    assert error.problem == "required key is missing"


@pytest.mark.parametrize("value", ["12345678901", "1234567890123", "abcdefghijkl", 123456789012])
def test_an_account_id_is_twelve_digits_quoted(fixture_config: Path, value: object) -> None:
    override(fixture_config, SUBDOMAIN, {"account_id": value})
    error = error_of(fixture_config, SUBDOMAIN)
    assert error.path == "account_id"


def test_top_level_must_be_a_mapping(fixture_config: Path) -> None:
    path = fixture_config / f"{SUBDOMAIN}.yaml"
    path.write_text("- tags\n")
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.file, error.path) == (str(path), "")
    assert error.problem == "must be a mapping at the top level, not list"


def test_unknown_key(fixture_config: Path) -> None:
    path = override(fixture_config, APEX_OWNER, {"network": {"vpc_cdir": "10.0.0.0/16"}})
    error = error_of(fixture_config)
    assert (error.file, error.path, error.problem) == (str(path), "network.vpc_cdir", "unknown key")
    assert str(error) == f"{path}: network.vpc_cdir: unknown key"


def test_wrong_type(fixture_config: Path) -> None:
    path = override(
        fixture_config, APEX_OWNER, {"cluster": {"node_groups": {"general": {"min_size": "3"}}}}
    )
    error = error_of(fixture_config)
    assert error.file == str(path)
    assert error.path == "cluster.node_groups.general.min_size"
    assert "valid integer" in error.problem
    assert "'3'" in error.problem


def test_a_service_calls_only_other_services(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"services": {"order-service": {"calls": ["stock"]}}})
    error = error_of(fixture_config)
    assert error.path == "services.order-service.calls"
    assert "'stock' is not another service" in error.problem


def test_a_service_does_not_call_itself(fixture_config: Path) -> None:
    override(
        fixture_config, APEX_OWNER, {"services": {"order-service": {"calls": ["order-service"]}}}
    )
    assert error_of(fixture_config).path == "services.order-service.calls"


def test_node_group_instance_type_must_be_sized(fixture_config: Path) -> None:
    override(
        fixture_config,
        APEX_OWNER,
        {"cluster": {"node_groups": {"general": {"instance_types": ["x9.huge"]}}}},
    )
    error = error_of(fixture_config)
    assert error.path == "cluster.node_groups.general.instance_types"
    assert "x9.huge not in the sized types" in error.problem


def test_node_group_instance_types_of_one_size(fixture_config: Path) -> None:
    types = ["m7i.xlarge", "m7i.2xlarge"]
    override(
        fixture_config,
        APEX_OWNER,
        {"cluster": {"node_groups": {"general": {"instance_types": types}}}},
    )
    error = error_of(fixture_config)
    assert error.path == "cluster.node_groups.general.instance_types"
    assert "differ in vCPUs or memory" in error.problem


@pytest.mark.parametrize("env", [APEX_OWNER, SUBDOMAIN])
def test_node_group_min_greater_than_max(fixture_config: Path, env: str) -> None:
    """The message shows the merged sizes: the defaults' (alpha) or the file's own (beta)."""
    group = merged(fixture_config, env)["cluster"]["node_groups"]["general"]
    override(fixture_config, env, {"cluster": {"node_groups": {"general": {"min_size": 11}}}})
    error = error_of(fixture_config, env)
    assert error.path == "cluster.node_groups.general"
    assert "min_size <= desired_size <= max_size" in error.problem
    assert f"11 / {group['desired_size']} / {group['max_size']}" in error.problem


def test_autoscaling_min_greater_than_max(fixture_config: Path) -> None:
    hpa = merged(fixture_config, SUBDOMAIN)["services"]["order-service"]["autoscaling"]
    too_many = hpa["max_replicas"] + 1
    override(
        fixture_config,
        SUBDOMAIN,
        {"services": {"order-service": {"autoscaling": {"min_replicas": too_many}}}},
    )
    error = error_of(fixture_config, SUBDOMAIN)
    assert error.path == "services.order-service.autoscaling"
    assert (
        f"min_replicas ({too_many}) is greater than max_replicas ({hpa['max_replicas']})"
        in error.problem
    )


SUBNETS = {
    "public": ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"],
    "private": ["10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"],
    "database": ["10.0.3.0/24", "10.0.4.0/24", "10.0.5.0/24"],
}
NETWORK = {"vpc_cidr": "10.0.0.0/16", "availability_zone_ids": ["use1-az1", "use1-az2", "use1-az4"]}
"""The VPC and zones SUBNETS are drawn for (set with them: the tests below do not
depend on the defaults' network)."""


def test_explicit_subnets_accepted(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"network": {**NETWORK, "subnets": SUBNETS}})
    network = load_environment(fixture_config, APEX_OWNER).network
    assert network.subnets is not None
    assert network.subnets.private[2] == "10.0.48.0/20"
    assert network.subnet_plan().database == tuple(SUBNETS["database"])


def test_subnet_outside_the_vpc(fixture_config: Path) -> None:
    subnets = {**SUBNETS, "private": ["10.0.16.0/20", "10.1.0.0/20", "10.0.48.0/20"]}
    path = override(fixture_config, APEX_OWNER, {"network": {**NETWORK, "subnets": subnets}})
    error = error_of(fixture_config)
    assert (error.file, error.path) == (str(path), "network.subnets.private[1]")
    assert error.problem == "10.1.0.0/20 is outside the VPC 10.0.0.0/16"


def test_overlapping_subnets(fixture_config: Path) -> None:
    subnets = {**SUBNETS, "database": ["10.0.3.0/24", "10.0.20.0/24", "10.0.5.0/24"]}
    override(fixture_config, APEX_OWNER, {"network": {**NETWORK, "subnets": subnets}})
    error = error_of(fixture_config)
    assert error.path == "network.subnets.database[1]"
    assert "overlaps subnets.private[0]" in error.problem


def test_subnet_count_must_match_azs(fixture_config: Path) -> None:
    subnets = {**SUBNETS, "public": ["10.0.0.0/24"]}
    override(fixture_config, APEX_OWNER, {"network": {**NETWORK, "subnets": subnets}})
    error = error_of(fixture_config)
    assert error.path == "network.subnets.public"
    assert error.problem == "has 1 ranges for 3 availability zones"


def test_malformed_cidr(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"network": {"vpc_cidr": "10.0.0.1/16"}})
    error = error_of(fixture_config)
    assert error.path == "network.vpc_cidr"
    assert "not an IPv4 network" in error.problem


def test_unknown_environment_name(fixture_config: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_environments(fixture_config, ["gamma"])
    assert caught.value.file == str(fixture_config)
    assert caught.value.problem == (
        f"unknown environment 'gamma'; known environments: {APEX_OWNER}, {SUBDOMAIN}"
    )


def test_environment_file_name_must_be_a_valid_name(fixture_config: Path) -> None:
    (fixture_config / "Beta_2.yaml").write_text((fixture_config / f"{SUBDOMAIN}.yaml").read_text())
    with pytest.raises(ConfigError) as caught:
        load_environment(fixture_config, "Beta_2")
    assert "must be 2-20 lowercase letters or digits" in caught.value.problem


def test_invalid_domain(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"dns": {"domain": f"{SUBDOMAIN}..kreo.com"}})
    error = error_of(fixture_config, SUBDOMAIN)
    assert error.path == "dns.domain"
    assert f"'{SUBDOMAIN}..kreo.com' is not a valid DNS domain" in error.problem


def test_domain_outside_the_apex(fixture_config: Path) -> None:
    apex = merged(fixture_config, SUBDOMAIN)["dns"]["apex"]
    override(fixture_config, SUBDOMAIN, {"dns": {"domain": "kreo.org"}})
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.path, error.problem) == ("dns.domain", f"'kreo.org' is not {apex!r} or below it")


def test_invalid_port(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"services": {"auth-service": {"port": 70000}}})
    error = error_of(fixture_config)
    assert error.path == "services.auth-service.port"
    assert "less than or equal to 65535" in error.problem


def test_duplicate_port(fixture_config: Path) -> None:
    taken = merged(fixture_config, APEX_OWNER)["services"]["auth-service"]["port"]
    override(fixture_config, APEX_OWNER, {"services": {"order-service": {"port": taken}}})
    error = error_of(fixture_config)
    assert error.path == "services.order-service.port"
    assert error.problem == f"{taken} is already used by services.auth-service"


def test_invalid_cors_origin(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"application": {"cors_origins": ["http://www.kreo.com"]}})
    error = error_of(fixture_config)
    assert error.path == "application.cors_origins[0]"
    assert "is not an https:// origin" in error.problem


def test_public_endpoint_open_to_the_world(fixture_config: Path) -> None:
    override(
        fixture_config,
        APEX_OWNER,
        {"cluster": {"endpoint_public_access": True, "public_access_cidrs": ["0.0.0.0/0"]}},
    )
    error = error_of(fixture_config)
    assert error.path == "cluster.public_access_cidrs"


def test_backup_retention_below_the_seed(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"database": {"backup_retention_days": 3}})
    error = error_of(fixture_config)
    assert error.path == "database.backup_retention_days"
    assert "greater than or equal to 7" in error.problem


@pytest.mark.parametrize("days", [30, 100, 732])
def test_performance_insights_retention_rds_refuses(fixture_config: Path, days: int) -> None:
    """RDS keeps Performance Insights 7 days, whole 31-day months up to 23, or 731 days."""
    override(
        fixture_config, APEX_OWNER, {"database": {"performance_insights_retention_days": days}}
    )
    error = error_of(fixture_config)
    assert error.path == "database.performance_insights_retention_days"
    assert f"{days} days: use 7, a multiple of 31 up to 713, or 731" in error.problem


def test_error_in_defaults_blames_the_defaults_file(fixture_config: Path) -> None:
    defaults = override(fixture_config, "defaults", {"network": {"vpc_cidr": "ten"}})
    for env in (APEX_OWNER, SUBDOMAIN):
        error = error_of(fixture_config, env)
        assert (error.file, error.path) == (str(defaults), "network.vpc_cidr")


def test_value_an_environment_sets_blames_the_environment_file(fixture_config: Path) -> None:
    """beta sets its node group sizes, so a bad size there is beta's, not the defaults'."""
    path = override(
        fixture_config, SUBDOMAIN, {"cluster": {"node_groups": {"general": {"max_size": 0}}}}
    )
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.file, error.path) == (str(path), "cluster.node_groups.general.max_size")


def test_invalid_yaml_names_the_line(fixture_config: Path) -> None:
    path = fixture_config / f"{SUBDOMAIN}.yaml"
    path.write_text("network:\n  single_nat_gateway: [true\n")
    error = error_of(fixture_config, SUBDOMAIN)
    assert error.file == str(path)
    assert error.path.startswith("line ")
    assert error.problem.startswith("invalid YAML")


def test_duplicate_key_is_rejected(fixture_config: Path) -> None:
    path = fixture_config / f"{SUBDOMAIN}.yaml"
    path.write_text("tags: {owner: a}\ntags: {owner: b}\n")
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.file, error.path, error.problem) == (
        str(path),
        "line 2",
        "invalid YAML: duplicate key 'tags'",
    )


def test_name_key_is_the_file_name(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"name": APEX_OWNER})
    error = error_of(fixture_config, SUBDOMAIN)
    assert error.path == "name"


def test_several_errors_are_counted_on_one_line(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"network": {"flow_log_retention_days": "3", "bogus": 1}})
    error = error_of(fixture_config)
    assert error.problem.endswith("(and 1 more error)")


def test_deep_merge_merges_mappings_and_replaces_the_rest() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [3]}, "e": 2}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("alpha", ["alpha"]),
        ("beta,alpha", ["beta", "alpha"]),
        ("beta alpha", ["beta", "alpha"]),
        (" beta , alpha ", ["beta", "alpha"]),
    ],
)
def test_parse_environment_list(value: str | None, expected: list[str] | None) -> None:
    assert parse_environment_list(value) == expected


def test_vpc_too_small_for_the_subnets(fixture_config: Path) -> None:
    zones = len(merged(fixture_config, APEX_OWNER)["network"]["availability_zone_ids"])
    override(fixture_config, APEX_OWNER, {"network": {"vpc_cidr": "10.0.0.0/24"}})
    error = error_of(fixture_config)
    assert error.path == "network.vpc_cidr"
    assert f"too small for {zones} AZs x 3 tiers" in error.problem


def test_availability_zone_listed_twice(fixture_config: Path) -> None:
    ids = ["use1-az1", "use1-az1", "use1-az4"]
    override(fixture_config, APEX_OWNER, {"network": {"availability_zone_ids": ids}})
    error = error_of(fixture_config)
    assert (error.path, error.problem) == (
        "network.availability_zone_ids",
        "lists a zone more than once",
    )


def test_availability_zone_name_instead_of_id(fixture_config: Path) -> None:
    ids = ["us-east-1a", "use1-az2", "use1-az4"]
    override(fixture_config, APEX_OWNER, {"network": {"availability_zone_ids": ids}})
    assert error_of(fixture_config).path == "network.availability_zone_ids[0]"


def test_unsupported_kubernetes_version(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"cluster": {"kubernetes_version": "1.29"}})
    error = error_of(fixture_config)
    assert error.path == "cluster.kubernetes_version"
    assert error.problem == (
        f"1.29 is not in EKS standard support; use one of {', '.join(EKS_STANDARD_SUPPORT)}"
    )


def test_addon_without_a_pinned_version(fixture_config: Path) -> None:
    path = edit(fixture_config, "defaults", lambda d: d["cluster"]["addons"].pop("coredns"))
    error = error_of(fixture_config)
    assert (error.file, error.path) == (str(path), "cluster.addons")
    assert error.problem == "pin a version for coredns"


def test_unknown_addon(fixture_config: Path) -> None:
    override(
        fixture_config, APEX_OWNER, {"cluster": {"addons": {"metrics-servr": "v1.0.0-eksbuild.1"}}}
    )
    assert error_of(fixture_config).path == "cluster.addons.metrics-servr (key)"


def test_role_both_admin_and_readonly(fixture_config: Path) -> None:
    admin = merged(fixture_config, SUBDOMAIN)["cluster"]["admin_role_names"][0]
    override(fixture_config, SUBDOMAIN, {"cluster": {"readonly_role_names": [admin]}})
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.path, error.problem) == (
        "cluster.readonly_role_names",
        f"{admin} is also an admin role",
    )


@pytest.mark.parametrize("version", ["latest", "~3.5", "3.x", ">=1.0.0", ""])
def test_unpinned_chart_version(fixture_config: Path, version: str) -> None:
    charts = {"cert-manager": {"version": version}}
    override(fixture_config, APEX_OWNER, {"platform": {"charts": charts}})
    error = error_of(fixture_config)
    assert error.path == "platform.charts.cert-manager.version"
    assert error.problem == f"{version!r} is not a pinned version; use an exact version like 1.2.3"


def test_chart_without_a_version(fixture_config: Path) -> None:
    path = edit(
        fixture_config,
        "defaults",
        lambda d: d["platform"]["charts"]["cluster-autoscaler"].pop("version"),
    )
    error = error_of(fixture_config)
    assert (error.file, error.path, error.problem) == (
        str(path),
        "platform.charts.cluster-autoscaler.version",
        "required key is missing",
    )


def test_chart_pinned_under_a_name_that_is_no_dns_label(fixture_config: Path) -> None:
    """Pins are keyed by add-on name (a release name); which names exist is the
    add-on registry's business, checked by main.py (tests/test_main.py)."""
    pin = {"repository": "https://example.org/charts", "chart": "extra", "version": "1.0.0"}
    override(fixture_config, APEX_OWNER, {"platform": {"charts": {"Extra_Chart": pin}}})
    error = error_of(fixture_config)
    assert error.path == "platform.charts.Extra_Chart (key)"


def test_delegation_from_a_zone_that_is_not_a_parent(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"dns": {"delegate_from": "kreo.org"}})
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.path, error.problem) == (
        "dns.delegate_from",
        f"'kreo.org' is not a parent of '{SUBDOMAIN}.kreo.com'",
    )


def test_delegation_of_an_existing_zone(fixture_config: Path) -> None:
    apex = merged(fixture_config, SUBDOMAIN)["dns"]["apex"]
    override(fixture_config, SUBDOMAIN, {"dns": {"zone": "existing", "delegate_from": apex}})
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.path, error.problem) == (
        "dns.delegate_from",
        "only a zone this project creates is delegated",
    )


def test_zone_mode_is_create_or_existing(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"dns": {"zone": "import"}})
    error = error_of(fixture_config)
    assert error.path == "dns.zone"
    assert "'create' or 'existing'" in error.problem


def test_two_hosts_with_one_name(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"dns": {"cdn_host": "www"}})
    error = error_of(fixture_config)
    assert error.path == "dns.cdn_host"
    assert "hosts must differ" in error.problem


def test_waf_window_must_be_one_waf_offers(fixture_config: Path) -> None:
    override(
        fixture_config,
        APEX_OWNER,
        {"application": {"edge_rate_limit": {"evaluation_window_seconds": 30}}},
    )
    error = error_of(fixture_config)
    assert error.path == "application.edge_rate_limit.evaluation_window_seconds"
    assert "60, 120, 300 or 600" in error.problem


def test_invalid_edge_bucket_name(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"edge": {"www_bucket": "Kreo_WWW"}})
    error = error_of(fixture_config)
    assert error.path == "edge.www_bucket"


def test_invalid_media_bucket_name(fixture_config: Path) -> None:
    path = override(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": "Kreo_Media"}})
    error = error_of(fixture_config, SUBDOMAIN)
    assert (error.file, error.path) == (str(path), "storage.media_bucket")


def test_unknown_price_class(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"edge": {"price_class": "PriceClass_50"}})
    error = error_of(fixture_config)
    assert error.path == "edge.price_class"


def test_two_services_without_a_path(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"services": {"auth-service": {"path": None}}})
    error = error_of(fixture_config)
    assert error.path == "services"
    assert "exactly one service has no path (the gateway)" in error.problem


def test_service_asks_for_an_unknown_secret(fixture_config: Path) -> None:
    override(
        fixture_config, APEX_OWNER, {"services": {"order-service": {"secrets": ["fedex/key"]}}}
    )
    error = error_of(fixture_config)
    assert (error.path, error.problem) == (
        "services.order-service.secrets",
        "'fedex/key' is not one of secrets.names",
    )


def test_secret_without_an_environment_variable(fixture_config: Path) -> None:
    edit(fixture_config, "defaults", lambda d: d["application"]["secret_env"].pop("shippo/api-key"))
    error = error_of(fixture_config)
    assert (error.path, error.problem) == (
        "services.order-service.secrets",
        "'shippo/api-key' has no environment variable in application.secret_env",
    )


def test_two_secrets_in_one_environment_variable(fixture_config: Path) -> None:
    override(
        fixture_config,
        APEX_OWNER,
        {"application": {"secret_env": {"sentry/dsn": "DATADOG_API_KEY"}}},
    )
    error = error_of(fixture_config)
    assert error.path == "application.secret_env"
    assert "['DATADOG_API_KEY'] name two secrets" in error.problem


@pytest.mark.parametrize("tag", ["latest", "main", "v1 .2"])
def test_image_tag_must_name_one_build(fixture_config: Path, tag: str) -> None:
    override(fixture_config, APEX_OWNER, {"application": {"image_tag": tag}})
    error = error_of(fixture_config)
    assert error.path == "application.image_tag"


def test_database_pool_min_above_max(fixture_config: Path) -> None:
    pool_max = merged(fixture_config, APEX_OWNER)["application"]["database_pool"]["max"]
    override(fixture_config, APEX_OWNER, {"application": {"database_pool": {"min": pool_max + 10}}})
    error = error_of(fixture_config)
    assert error.path == "application.database_pool"
    assert f"min ({pool_max + 10}) is greater than max ({pool_max})" in error.problem


def test_vault_lock_longer_than_the_hourly_retention(fixture_config: Path) -> None:
    hourly = merged(fixture_config, APEX_OWNER)["backup"]["hourly_retention_days"]
    override(
        fixture_config,
        APEX_OWNER,
        {"backup": {"vault_lock": True, "vault_lock_min_retention_days": hourly + 1}},
    )
    error = error_of(fixture_config)
    assert error.path == "backup.vault_lock_min_retention_days"
    assert "would refuse the hourly recovery points" in error.problem


def test_pager_must_be_https(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"observability": {"pager_url": "http://pager"}})
    error = error_of(fixture_config)
    assert error.path == "observability.pager_url"


def test_alarms_need_a_recipient(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"observability": {"alarm_emails": []}})
    error = error_of(fixture_config)
    assert error.path == "observability.alarm_emails"


def test_percent_threshold_above_100(fixture_config: Path) -> None:
    override(
        fixture_config,
        APEX_OWNER,
        {"observability": {"alarms": {"database": {"cpu_percent": 120}}}},
    )
    error = error_of(fixture_config)
    assert error.path == "observability.alarms.database.cpu_percent"


def test_database_engine_version_is_the_major_only(fixture_config: Path) -> None:
    # A pinned minor with automatic minor upgrades: every later plan is a failing
    # downgrade (issue: first deploy, defect 8).
    override(fixture_config, APEX_OWNER, {"database": {"engine_version": "17.6"}})
    error = error_of(fixture_config)
    assert error.path == "database.engine_version"
    assert "should match pattern" in error.problem


def test_master_password_version_starts_at_one(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"database": {"master_password_version": 0}})
    error = error_of(fixture_config)
    assert error.path == "database.master_password_version"


def test_access_role_may_not_be_an_identity_center_role(fixture_config: Path) -> None:
    override(
        fixture_config,
        APEX_OWNER,
        {"delivery": {"access_roles": {"AWSReservedSSO_Admin_0123456789abcdef": "Admin"}}},
    )
    error = error_of(fixture_config)
    assert error.path == "delivery.access_roles.AWSReservedSSO_Admin_0123456789abcdef"
    assert "the bootstrap creates it" in error.problem


def test_cluster_roles_must_be_access_roles(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"cluster": {"admin_role_names": ["someone-else"]}})
    error = error_of(fixture_config)
    assert error.path == "cluster.admin_role_names"
    assert "'someone-else' is not one of delivery.access_roles" in error.problem
