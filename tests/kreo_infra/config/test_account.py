"""Rules across the environments of one account (loader.check_account), one test each,
on the fixture directory (alpha owns the apex, beta derives everything)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import ConfigError, load_environments
from kreo_infra.config.loader import deep_merge
from tests.kreo_infra.config.conftest import APEX_OWNER, SUBDOMAIN


def set_values(config_dir: Path, env: str, data: dict[str, Any]) -> None:
    path = config_dir / f"{env}.yaml"
    path.write_text(yaml.safe_dump(deep_merge(yaml.safe_load(path.read_text()) or {}, data)))


def account_error(config_dir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_environments(config_dir)
    assert "\n" not in str(caught.value)
    return caught.value


def test_the_fixture_account_is_valid(fixture_config: Path) -> None:
    names = [c.name for c in load_environments(fixture_config)]
    assert names == [APEX_OWNER, SUBDOMAIN]


def test_a_copied_bucket_name_is_rejected(fixture_config: Path) -> None:
    set_values(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": "kreo-alpha-media"}})
    error = account_error(fixture_config)
    assert error.file.endswith(f"{SUBDOMAIN}.yaml")
    assert error.path == "storage.media_bucket"
    assert "'kreo-alpha-media' is also alpha's storage.media_bucket" in error.problem
    assert "global" in error.problem


def test_bucket_names_share_one_namespace(fixture_config: Path) -> None:
    """A media bucket may not take another environment's web bucket name either."""
    set_values(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": "kreo-alpha-www"}})
    error = account_error(fixture_config)
    assert error.path == "storage.media_bucket"
    assert "alpha's edge.www_bucket" in error.problem


def test_a_copied_domain_is_rejected(fixture_config: Path) -> None:
    set_values(fixture_config, SUBDOMAIN, {"dns": {"domain": "kreo.com"}})
    error = account_error(fixture_config)
    assert (error.path, error.file.endswith(f"{SUBDOMAIN}.yaml")) == ("dns.domain", True)
    assert "second public zone" in error.problem


def test_a_copied_cluster_name_is_rejected(fixture_config: Path) -> None:
    set_values(fixture_config, SUBDOMAIN, {"cluster": {"name": "kreo-alpha"}})
    error = account_error(fixture_config)
    assert error.path == "cluster.name"
    assert "'kreo-alpha' is also alpha's cluster.name" in error.problem


def test_account_settings_must_agree(fixture_config: Path) -> None:
    set_values(fixture_config, SUBDOMAIN, {"state": {"bucket": "another-state-bucket"}})
    error = account_error(fixture_config)
    assert error.path == "state.bucket"
    assert "differs from alpha's 'kreo-infra-terraform-state'" in error.problem


def test_the_apex_must_agree(fixture_config: Path) -> None:
    set_values(fixture_config, SUBDOMAIN, {"dns": {"apex": "kreo.net"}})
    error = account_error(fixture_config)
    assert error.path == "dns.apex"


def test_exactly_one_environment_owns_the_apex(fixture_config: Path) -> None:
    set_values(fixture_config, APEX_OWNER, {"dns": {"domain": "alpha.kreo.com"}})
    error = account_error(fixture_config)
    assert error.path == "dns.domain"
    assert "no environment has the apex 'kreo.com' as its domain" in error.problem


def test_a_delegated_zone_needs_its_parent_here(fixture_config: Path) -> None:
    set_values(fixture_config, APEX_OWNER, {"dns": {"zone": "existing"}})
    error = account_error(fixture_config)
    assert error.file.endswith(f"{SUBDOMAIN}.yaml")
    assert error.path == "dns.delegate_from"
    assert "no environment of this account creates the zone 'kreo.com'" in error.problem


def test_loading_one_environment_checks_the_whole_account(fixture_config: Path) -> None:
    set_values(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": "kreo-alpha-media"}})
    with pytest.raises(ConfigError, match=r"is also alpha's storage\.media_bucket"):
        load_environments(fixture_config, [APEX_OWNER])
