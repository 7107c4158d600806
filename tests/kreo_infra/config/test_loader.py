"""Bad config stops with one line naming the file, the field path and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import ConfigError, load_environment, load_environments
from kreo_infra.config.loader import deep_merge, parse_environment_list
from tests.conftest import CONFIG_DIR


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the committed config/ to break."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def override(config_dir: Path, env: str, data: dict[str, Any]) -> Path:
    """Merge ``data`` into ``<env>.yaml`` and return the file."""
    path = config_dir / f"{env}.yaml"
    current = yaml.safe_load(path.read_text()) or {}
    path.write_text(yaml.safe_dump(deep_merge(current, data)))
    return path


def error_of(config_dir: Path, env: str = "production") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_environment(config_dir, env)
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


def test_committed_config_is_valid() -> None:
    assert [c.name for c in load_environments(CONFIG_DIR)] == ["production", "staging"]


def test_unknown_key(config_dir: Path) -> None:
    path = override(config_dir, "production", {"network": {"vpc_cdir": "10.0.0.0/16"}})
    error = error_of(config_dir)
    assert (error.file, error.path, error.problem) == (str(path), "network.vpc_cdir", "unknown key")
    assert str(error) == f"{path}: network.vpc_cdir: unknown key"


def test_wrong_type(config_dir: Path) -> None:
    path = override(
        config_dir, "production", {"cluster": {"node_groups": {"general": {"min_size": "3"}}}}
    )
    error = error_of(config_dir)
    assert error.file == str(path)
    assert error.path == "cluster.node_groups.general.min_size"
    assert "valid integer" in error.problem
    assert "'3'" in error.problem


def test_a_service_calls_only_other_services(config_dir: Path) -> None:
    override(config_dir, "production", {"services": {"order-service": {"calls": ["stock"]}}})
    error = error_of(config_dir)
    assert error.path == "services.order-service.calls"
    assert "'stock' is not another service" in error.problem


def test_a_service_does_not_call_itself(config_dir: Path) -> None:
    override(
        config_dir, "production", {"services": {"order-service": {"calls": ["order-service"]}}}
    )
    assert error_of(config_dir).path == "services.order-service.calls"


def test_node_group_instance_type_must_be_sized(config_dir: Path) -> None:
    override(
        config_dir,
        "production",
        {"cluster": {"node_groups": {"general": {"instance_types": ["x9.huge"]}}}},
    )
    error = error_of(config_dir)
    assert error.path == "cluster.node_groups.general.instance_types"
    assert "x9.huge not in the sized types" in error.problem


def test_node_group_instance_types_of_one_size(config_dir: Path) -> None:
    types = ["m7i.xlarge", "m7i.2xlarge"]
    override(
        config_dir,
        "production",
        {"cluster": {"node_groups": {"general": {"instance_types": types}}}},
    )
    error = error_of(config_dir)
    assert error.path == "cluster.node_groups.general.instance_types"
    assert "differ in vCPUs or memory" in error.problem


def test_node_group_min_greater_than_max(config_dir: Path) -> None:
    override(config_dir, "production", {"cluster": {"node_groups": {"general": {"min_size": 11}}}})
    error = error_of(config_dir)
    assert error.path == "cluster.node_groups.general"
    assert "min_size <= desired_size <= max_size" in error.problem
    assert "11 / 2 / 5" in error.problem


def test_autoscaling_min_greater_than_max(config_dir: Path) -> None:
    override(
        config_dir, "staging", {"services": {"order-service": {"autoscaling": {"min_replicas": 9}}}}
    )
    error = error_of(config_dir, "staging")
    assert error.path == "services.order-service.autoscaling"
    assert "min_replicas (9) is greater than max_replicas (4)" in error.problem


SUBNETS = {
    "public": ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"],
    "private": ["10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"],
    "database": ["10.0.3.0/24", "10.0.4.0/24", "10.0.5.0/24"],
}


def test_explicit_subnets_accepted(config_dir: Path) -> None:
    override(config_dir, "production", {"network": {"subnets": SUBNETS}})
    assert load_environment(config_dir, "production").network.subnets.private[2] == "10.0.48.0/20"


def test_subnet_outside_the_vpc(config_dir: Path) -> None:
    subnets = {**SUBNETS, "private": ["10.0.16.0/20", "10.1.0.0/20", "10.0.48.0/20"]}
    path = override(config_dir, "production", {"network": {"subnets": subnets}})
    error = error_of(config_dir)
    assert (error.file, error.path) == (str(path), "network.subnets.private[1]")
    assert error.problem == "10.1.0.0/20 is outside the VPC 10.0.0.0/16"


def test_overlapping_subnets(config_dir: Path) -> None:
    subnets = {**SUBNETS, "database": ["10.0.3.0/24", "10.0.20.0/24", "10.0.5.0/24"]}
    override(config_dir, "production", {"network": {"subnets": subnets}})
    error = error_of(config_dir)
    assert error.path == "network.subnets.database[1]"
    assert "overlaps subnets.private[0]" in error.problem


def test_subnet_count_must_match_azs(config_dir: Path) -> None:
    override(
        config_dir, "production", {"network": {"subnets": {**SUBNETS, "public": ["10.0.0.0/24"]}}}
    )
    error = error_of(config_dir)
    assert error.path == "network.subnets.public"
    assert error.problem == "has 1 ranges for 3 availability zones"


def test_malformed_cidr(config_dir: Path) -> None:
    override(config_dir, "production", {"network": {"vpc_cidr": "10.0.0.1/16"}})
    error = error_of(config_dir)
    assert error.path == "network.vpc_cidr"
    assert "not an IPv4 network" in error.problem


def test_unknown_environment_name(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_environments(config_dir, ["prod"])
    assert caught.value.file == str(config_dir)
    assert caught.value.problem == (
        "unknown environment 'prod'; known environments: production, staging"
    )


def test_environment_file_name_must_be_a_valid_name(config_dir: Path) -> None:
    shutil.copy(config_dir / "staging.yaml", config_dir / "Staging_2.yaml")
    with pytest.raises(ConfigError) as caught:
        load_environment(config_dir, "Staging_2")
    assert "must be 2-20 lowercase letters or digits" in caught.value.problem


def test_invalid_domain(config_dir: Path) -> None:
    override(config_dir, "staging", {"dns": {"domain": "staging..kreo.com"}})
    error = error_of(config_dir, "staging")
    assert error.path == "dns.domain"
    assert "'staging..kreo.com' is not a valid DNS domain" in error.problem


def test_invalid_port(config_dir: Path) -> None:
    override(config_dir, "production", {"services": {"auth-service": {"port": 70000}}})
    error = error_of(config_dir)
    assert error.path == "services.auth-service.port"
    assert "less than or equal to 65535" in error.problem


def test_duplicate_port(config_dir: Path) -> None:
    override(config_dir, "production", {"services": {"order-service": {"port": 3001}}})
    error = error_of(config_dir)
    assert error.path == "services.order-service.port"
    assert error.problem == "3001 is already used by services.auth-service"


def test_invalid_cors_origin(config_dir: Path) -> None:
    override(config_dir, "production", {"application": {"cors_origins": ["http://www.kreo.com"]}})
    error = error_of(config_dir)
    assert error.path == "application.cors_origins[0]"
    assert "is not an https:// origin" in error.problem


def test_public_endpoint_open_to_the_world(config_dir: Path) -> None:
    override(
        config_dir,
        "production",
        {"cluster": {"endpoint_public_access": True, "public_access_cidrs": ["0.0.0.0/0"]}},
    )
    error = error_of(config_dir)
    assert error.path == "cluster.public_access_cidrs"


def test_backup_retention_below_the_seed(config_dir: Path) -> None:
    override(config_dir, "production", {"database": {"backup_retention_days": 3}})
    error = error_of(config_dir)
    assert error.path == "database.backup_retention_days"
    assert "greater than or equal to 7" in error.problem


def test_error_in_defaults_blames_the_defaults_file(config_dir: Path) -> None:
    defaults = config_dir / "defaults.yaml"
    defaults.write_text(defaults.read_text().replace("vpc_cidr: 10.0.0.0/16", "vpc_cidr: ten"))
    error = error_of(config_dir)
    assert (error.file, error.path) == (str(defaults), "network.vpc_cidr")


def test_invalid_yaml_names_the_line(config_dir: Path) -> None:
    path = config_dir / "staging.yaml"
    path.write_text("network:\n  single_nat_gateway: [true\n")
    error = error_of(config_dir, "staging")
    assert error.file == str(path)
    assert error.path.startswith("line ")
    assert error.problem.startswith("invalid YAML")


def test_duplicate_key_is_rejected(config_dir: Path) -> None:
    path = config_dir / "staging.yaml"
    path.write_text("tags: {owner: a}\ntags: {owner: b}\n")
    error = error_of(config_dir, "staging")
    assert (error.file, error.path, error.problem) == (
        str(path),
        "line 2",
        "invalid YAML: duplicate key 'tags'",
    )


def test_name_key_is_the_file_name(config_dir: Path) -> None:
    override(config_dir, "staging", {"name": "production"})
    error = error_of(config_dir, "staging")
    assert error.path == "name"


def test_several_errors_are_counted_on_one_line(config_dir: Path) -> None:
    override(config_dir, "production", {"network": {"flow_log_retention_days": "3", "bogus": 1}})
    error = error_of(config_dir)
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
        ("production", ["production"]),
        ("staging,production", ["staging", "production"]),
        ("staging production", ["staging", "production"]),
    ],
)
def test_parse_environment_list(value: str | None, expected: list[str] | None) -> None:
    assert parse_environment_list(value) == expected


def test_vpc_too_small_for_the_subnets(config_dir: Path) -> None:
    override(config_dir, "production", {"network": {"vpc_cidr": "10.0.0.0/24"}})
    error = error_of(config_dir)
    assert error.path == "network.vpc_cidr"
    assert "too small for 3 AZs x 3 tiers" in error.problem


def test_availability_zone_listed_twice(config_dir: Path) -> None:
    ids = ["use1-az1", "use1-az1", "use1-az4"]
    override(config_dir, "production", {"network": {"availability_zone_ids": ids}})
    error = error_of(config_dir)
    assert (error.path, error.problem) == (
        "network.availability_zone_ids",
        "lists a zone more than once",
    )


def test_availability_zone_name_instead_of_id(config_dir: Path) -> None:
    ids = ["us-east-1a", "use1-az2", "use1-az4"]
    override(config_dir, "production", {"network": {"availability_zone_ids": ids}})
    assert error_of(config_dir).path == "network.availability_zone_ids[0]"


def test_unsupported_kubernetes_version(config_dir: Path) -> None:
    override(config_dir, "production", {"cluster": {"kubernetes_version": "1.29"}})
    error = error_of(config_dir)
    assert error.path == "cluster.kubernetes_version"
    assert error.problem.startswith("1.29 is not in EKS standard support; use one of 1.34")


def test_addon_without_a_pinned_version(config_dir: Path) -> None:
    path = config_dir / "defaults.yaml"
    path.write_text(path.read_text().replace("    coredns: v1.12.4-eksbuild.1\n", ""))
    error = error_of(config_dir)
    assert (error.file, error.path) == (str(path), "cluster.addons")
    assert error.problem == "pin a version for coredns"


def test_unknown_addon(config_dir: Path) -> None:
    override(
        config_dir, "production", {"cluster": {"addons": {"metrics-servr": "v1.0.0-eksbuild.1"}}}
    )
    assert error_of(config_dir).path == "cluster.addons.metrics-servr (key)"


def test_role_both_admin_and_readonly(config_dir: Path) -> None:
    override(config_dir, "staging", {"cluster": {"readonly_role_names": ["kreo-platform-admin"]}})
    error = error_of(config_dir, "staging")
    assert (error.path, error.problem) == (
        "cluster.readonly_role_names",
        "kreo-platform-admin is also an admin role",
    )


@pytest.mark.parametrize("version", ["latest", "~3.5", "3.x", ">=1.0.0", ""])
def test_unpinned_chart_version(config_dir: Path, version: str) -> None:
    charts = {"cert-manager": {"version": version}}
    override(config_dir, "production", {"platform": {"charts": charts}})
    error = error_of(config_dir)
    assert error.path == "platform.charts.cert-manager.version"
    assert error.problem == f"{version!r} is not a pinned version; use an exact version like 1.2.3"


def test_chart_without_a_version(config_dir: Path) -> None:
    path = config_dir / "defaults.yaml"
    text = path.read_text()
    path.write_text(text.replace("      version: 9.59.0\n", ""))
    error = error_of(config_dir)
    assert (error.file, error.path, error.problem) == (
        str(path),
        "platform.charts.cluster-autoscaler.version",
        "required key is missing",
    )


def test_chart_missing_from_config(config_dir: Path) -> None:
    path = config_dir / "defaults.yaml"
    data = yaml.safe_load(path.read_text())
    del data["platform"]["charts"]["external-dns"]
    path.write_text(yaml.safe_dump(data))
    error = error_of(config_dir)
    assert (error.path, error.problem) == ("platform.charts", "pin a version for external-dns")


def test_delegation_from_a_zone_that_is_not_a_parent(config_dir: Path) -> None:
    override(config_dir, "staging", {"dns": {"delegate_from": "kreo.org"}})
    error = error_of(config_dir, "staging")
    assert (error.path, error.problem) == (
        "dns.delegate_from",
        "'kreo.org' is not a parent of 'staging.kreo.com'",
    )


def test_delegation_of_an_existing_zone(config_dir: Path) -> None:
    override(config_dir, "staging", {"dns": {"zone": "existing"}})
    error = error_of(config_dir, "staging")
    assert (error.path, error.problem) == (
        "dns.delegate_from",
        "only a zone this project creates is delegated",
    )


def test_zone_mode_is_create_or_existing(config_dir: Path) -> None:
    override(config_dir, "production", {"dns": {"zone": "import"}})
    error = error_of(config_dir)
    assert error.path == "dns.zone"
    assert "'create' or 'existing'" in error.problem


def test_two_hosts_with_one_name(config_dir: Path) -> None:
    override(config_dir, "production", {"dns": {"cdn_host": "www"}})
    error = error_of(config_dir)
    assert error.path == "dns.cdn_host"
    assert "hosts must differ" in error.problem


def test_waf_window_must_be_one_waf_offers(config_dir: Path) -> None:
    override(
        config_dir,
        "production",
        {"application": {"edge_rate_limit": {"evaluation_window_seconds": 30}}},
    )
    error = error_of(config_dir)
    assert error.path == "application.edge_rate_limit.evaluation_window_seconds"
    assert "60, 120, 300 or 600" in error.problem


def test_invalid_edge_bucket_name(config_dir: Path) -> None:
    override(config_dir, "production", {"edge": {"www_bucket": "Kreo_WWW"}})
    error = error_of(config_dir)
    assert error.path == "edge.www_bucket"


def test_unknown_price_class(config_dir: Path) -> None:
    override(config_dir, "production", {"edge": {"price_class": "PriceClass_50"}})
    error = error_of(config_dir)
    assert error.path == "edge.price_class"


def test_two_services_without_a_path(config_dir: Path) -> None:
    override(config_dir, "production", {"services": {"auth-service": {"path": None}}})
    error = error_of(config_dir)
    assert error.path == "services"
    assert "exactly one service has no path (the gateway)" in error.problem


def test_service_asks_for_an_unknown_secret(config_dir: Path) -> None:
    override(config_dir, "production", {"services": {"order-service": {"secrets": ["fedex/key"]}}})
    error = error_of(config_dir)
    assert (error.path, error.problem) == (
        "services.order-service.secrets",
        "'fedex/key' is not one of secrets.names",
    )


def test_secret_without_an_environment_variable(config_dir: Path) -> None:
    path = config_dir / "defaults.yaml"
    data = yaml.safe_load(path.read_text())
    del data["application"]["secret_env"]["shippo/api-key"]
    path.write_text(yaml.safe_dump(data))
    error = error_of(config_dir)
    assert (error.path, error.problem) == (
        "services.order-service.secrets",
        "'shippo/api-key' has no environment variable in application.secret_env",
    )


def test_two_secrets_in_one_environment_variable(config_dir: Path) -> None:
    override(
        config_dir, "production", {"application": {"secret_env": {"sentry/dsn": "DATADOG_API_KEY"}}}
    )
    error = error_of(config_dir)
    assert error.path == "application.secret_env"
    assert "['DATADOG_API_KEY'] name two secrets" in error.problem


@pytest.mark.parametrize("tag", ["latest", "main", "v1 .2"])
def test_image_tag_must_name_one_build(config_dir: Path, tag: str) -> None:
    override(config_dir, "production", {"application": {"image_tag": tag}})
    error = error_of(config_dir)
    assert error.path == "application.image_tag"


def test_database_pool_min_above_max(config_dir: Path) -> None:
    override(config_dir, "production", {"application": {"database_pool": {"min": 60}}})
    error = error_of(config_dir)
    assert error.path == "application.database_pool"
    assert "min (60) is greater than max (50)" in error.problem


def test_vault_lock_longer_than_the_hourly_retention(config_dir: Path) -> None:
    override(config_dir, "production", {"backup": {"vault_lock_min_retention_days": 3}})
    error = error_of(config_dir)
    assert error.path == "backup.vault_lock_min_retention_days"
    assert "would refuse the hourly recovery points" in error.problem


def test_pager_must_be_https(config_dir: Path) -> None:
    override(config_dir, "production", {"observability": {"pager_url": "http://pager"}})
    error = error_of(config_dir)
    assert error.path == "observability.pager_url"


def test_alarms_need_a_recipient(config_dir: Path) -> None:
    override(config_dir, "production", {"observability": {"alarm_emails": []}})
    error = error_of(config_dir)
    assert error.path == "observability.alarm_emails"


def test_percent_threshold_above_100(config_dir: Path) -> None:
    override(
        config_dir, "production", {"observability": {"alarms": {"database": {"cpu_percent": 120}}}}
    )
    error = error_of(config_dir)
    assert error.path == "observability.alarms.database.cpu_percent"


def test_database_engine_version_is_the_major_only(config_dir: Path) -> None:
    # A pinned minor with automatic minor upgrades: every later plan is a failing
    # downgrade (issue: first deploy, defect 8).
    override(config_dir, "production", {"database": {"engine_version": "17.6"}})
    error = error_of(config_dir)
    assert error.path == "database.engine_version"
    assert "should match pattern" in error.problem


def test_master_password_version_starts_at_one(config_dir: Path) -> None:
    override(config_dir, "production", {"database": {"master_password_version": 0}})
    error = error_of(config_dir)
    assert error.path == "database.master_password_version"


def test_access_role_may_not_be_an_identity_center_role(config_dir: Path) -> None:
    override(
        config_dir,
        "production",
        {"delivery": {"access_roles": {"AWSReservedSSO_Admin_0123456789abcdef": "Admin"}}},
    )
    error = error_of(config_dir)
    assert error.path == "delivery.access_roles.AWSReservedSSO_Admin_0123456789abcdef"
    assert "the bootstrap creates it" in error.problem


def test_cluster_roles_must_be_access_roles(config_dir: Path) -> None:
    override(config_dir, "production", {"cluster": {"admin_role_names": ["someone-else"]}})
    error = error_of(config_dir)
    assert error.path == "cluster.admin_role_names"
    assert "'someone-else' is not one of delivery.access_roles" in error.problem
