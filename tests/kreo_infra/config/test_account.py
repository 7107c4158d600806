"""Rules across the environments (loader.check_account), one test each,
on the fixture directory (alpha owns the apex, beta derives everything)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kreo_infra.config import ConfigError, load_environments
from kreo_infra.config.loader import RECOVERED_NAMES
from kreo_infra.config.models import DR_COPY_SUFFIX
from tests.kreo_infra.config.conftest import APEX_OWNER, SUBDOMAIN, override


def account_error(config_dir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_environments(config_dir)
    assert "\n" not in str(caught.value)
    return caught.value


def test_the_fixture_account_is_valid(fixture_config: Path) -> None:
    names = [c.name for c in load_environments(fixture_config)]
    assert names == [APEX_OWNER, SUBDOMAIN]


def test_a_copied_bucket_name_is_rejected(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": "kreo-alpha-media"}})
    error = account_error(fixture_config)
    assert error.file.endswith(f"{SUBDOMAIN}.yaml")
    assert error.path == "storage.media_bucket"
    assert "'kreo-alpha-media' is also alpha's storage.media_bucket" in error.problem
    assert "global" in error.problem


def test_bucket_names_share_one_namespace(fixture_config: Path) -> None:
    """A media bucket may not take another environment's web bucket name either."""
    override(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": "kreo-alpha-www"}})
    error = account_error(fixture_config)
    assert error.path == "storage.media_bucket"
    assert "alpha's edge.www_bucket" in error.problem


def test_a_copied_domain_is_rejected(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"dns": {"domain": "kreo.com"}})
    error = account_error(fixture_config)
    assert (error.path, error.file.endswith(f"{SUBDOMAIN}.yaml")) == ("dns.domain", True)
    assert "second public zone" in error.problem


def test_a_copied_cluster_name_is_rejected(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"cluster": {"name": "kreo-alpha"}})
    error = account_error(fixture_config)
    assert error.path == "cluster.name"
    assert "'kreo-alpha' is also alpha's cluster.name" in error.problem


def test_shared_settings_must_agree(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"delivery": {"plan_role": "another-plan"}})
    error = account_error(fixture_config)
    assert error.path == "delivery.plan_role"
    assert "differs from alpha's 'kreo-plan'" in error.problem


def test_each_environment_has_an_account_of_its_own(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"account_id": "111111111111"})
    error = account_error(fixture_config)
    assert (error.path, error.file.endswith(f"{SUBDOMAIN}.yaml")) == ("account_id", True)
    assert "'111111111111' is also alpha's account" in error.problem


def test_each_environment_has_a_state_bucket_of_its_own(fixture_config: Path) -> None:
    configs = {c.name: c for c in load_environments(fixture_config)}
    assert configs[SUBDOMAIN].state.bucket == f"kreo-infra-terraform-state-{SUBDOMAIN}"
    override(fixture_config, SUBDOMAIN, {"state": {"bucket": configs[APEX_OWNER].state.bucket}})
    error = account_error(fixture_config)
    assert error.path == "state.bucket"
    assert "global" in error.problem


def test_the_apex_must_agree(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"dns": {"apex": "kreo.net"}})
    error = account_error(fixture_config)
    assert error.path == "dns.apex"


def test_exactly_one_environment_owns_the_apex(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"dns": {"domain": "alpha.kreo.com"}})
    error = account_error(fixture_config)
    assert error.path == "dns.domain"
    assert "no environment has the apex 'kreo.com' as its domain" in error.problem


def test_a_delegated_zone_needs_its_parent_here(fixture_config: Path) -> None:
    override(fixture_config, APEX_OWNER, {"dns": {"zone": "existing"}})
    error = account_error(fixture_config)
    assert error.file.endswith(f"{SUBDOMAIN}.yaml")
    assert error.path == "dns.delegate_from"
    assert "no environment creates the zone 'kreo.com'" in error.problem


def test_loading_one_environment_checks_the_whole_account(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": "kreo-alpha-media"}})
    with pytest.raises(ConfigError, match=r"is also alpha's storage\.media_bucket"):
        load_environments(fixture_config, [APEX_OWNER])


def test_a_domain_may_not_be_another_environments_host(fixture_config: Path) -> None:
    """A zone for cdn.kreo.com delegated from kreo.com would take alpha's CDN name."""
    override(fixture_config, SUBDOMAIN, {"dns": {"domain": "cdn.kreo.com"}})
    error = account_error(fixture_config)
    assert error.path == "dns.domain"
    assert "'cdn.kreo.com' is alpha's dns.cdn_host" in error.problem


def test_delegation_comes_from_the_nearest_zone(fixture_config: Path) -> None:
    (fixture_config / "gamma.yaml").write_text(
        'account_id: "333333333333"\ndns: {domain: gamma.beta.kreo.com}\n'
    )
    error = account_error(fixture_config)
    assert error.file.endswith("gamma.yaml")
    assert error.path == "dns.delegate_from"
    assert "must be delegated from 'beta.kreo.com'" in error.problem


def test_a_created_subdomain_must_be_delegated(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"dns": {"delegate_from": None}})
    error = account_error(fixture_config)
    assert error.path == "dns.delegate_from"
    assert "None: 'beta.kreo.com' must be delegated from 'kreo.com'" in error.problem


def test_the_dr_copy_of_a_bucket_is_unique_too(fixture_config: Path) -> None:
    """alpha's media bucket is copied to kreo-alpha-media-dr in the DR region."""
    override(fixture_config, SUBDOMAIN, {"edge": {"logs_bucket": "kreo-alpha-media-dr"}})
    error = account_error(fixture_config)
    assert error.path == "edge.logs_bucket"
    assert "alpha's storage.media_bucket (its DR copy)" in error.problem


@pytest.mark.parametrize(
    # kreo-restore-drill: a "restore" environment's kreo-restore-* roles would clash.
    "name",
    ["deploy", "plan", "platform", "image", "dns", "break", "pipeline", "restore", "registry"],
)
def test_an_environment_may_not_take_the_accounts_role_names(
    fixture_config: Path, name: str
) -> None:
    (fixture_config / f"{name}.yaml").write_text('account_id: "333333333333"\n')
    error = account_error(fixture_config)
    assert error.file.endswith(f"{name}.yaml")
    assert error.path == "name"
    assert "names the account's role 'kreo-" in error.problem


def test_cluster_access_roles_are_the_accounts(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"cluster": {"admin_role_names": []}})
    error = account_error(fixture_config)
    assert error.path == "cluster.admin_role_names"


def test_a_clash_names_both_files(fixture_config: Path) -> None:
    override(fixture_config, SUBDOMAIN, {"cluster": {"name": "kreo-alpha"}})
    assert "alpha.yaml" in account_error(fixture_config).problem


# --- a recovery environment (recovery_of) ----------------------------------------------------

RECOVERY = "gamma"
RECOVERY_YAML = f"""\
account_id: "111111111111"
recovery_of: {APEX_OWNER}
region: us-west-2
dr_region: us-east-1
tags: {{cost_center: marketplace-alpha}}
state: {{region: us-west-2}}
network: {{availability_zone_ids: [usw2-az1, usw2-az2, usw2-az3]}}
restore: {{automated_backups_arn: "arn:aws:rds:us-west-2:111111111111:auto-backup:ab-alpha0001"}}
storage: {{media_bucket: kreo-alpha-media-dr, replicate_to_dr_region: false}}
secrets: {{replicate_to_dr_region: false}}
backup: {{copy_to_dr_region: false}}
dns: {{domain: kreo.com, zone: existing}}
"""
"""alpha rebuilt in its DR region: from alpha's replicated backups (``restore``), serving
alpha's media copy (``kreo-alpha-media-dr``), replicating nothing back."""


def with_recovery(config_dir: Path, **changes: Any) -> Path:
    """gamma.yaml from :data:`RECOVERY_YAML`, each top-level key of ``changes`` replacing
    its line (``None``: the line left out)."""
    text = RECOVERY_YAML
    for key, value in changes.items():
        text = "\n".join(
            (f"{key}: {value}" if value is not None else "") if line.startswith(f"{key}:") else line
            for line in text.splitlines()
        )
    (config_dir / f"{RECOVERY}.yaml").write_text(text + "\n")
    return config_dir


def test_a_recovery_shares_the_account_of_what_it_rebuilds(fixture_config: Path) -> None:
    configs = {c.name: c for c in load_environments(with_recovery(fixture_config))}
    recovery = configs[RECOVERY]
    assert recovery.recovery_of == APEX_OWNER
    assert recovery.account_id == configs[APEX_OWNER].account_id
    assert recovery.region == configs[APEX_OWNER].dr_region
    assert configs[APEX_OWNER].recovery_of is None


@pytest.mark.parametrize(
    ("changes", "path", "problem"),
    [
        ({"recovery_of": "delta"}, "recovery_of", "'delta' is no environment of its own"),
        ({"account_id": '"222222222222"'}, "account_id", "runs in its account"),
        ({"region": "eu-west-1"}, "region", "(use 'us-west-2')"),
        ({"dns": "{domain: alpha.kreo.com, zone: existing}"}, "dns.domain", "(use 'kreo.com')"),
        ({"dns": "{domain: kreo.com, zone: create}"}, "dns.zone", "(use 'existing')"),
    ],
)
def test_a_recovery_must_match_what_it_rebuilds(
    fixture_config: Path, changes: dict[str, str], path: str, problem: str
) -> None:
    error = account_error(with_recovery(fixture_config, **changes))
    assert error.file.endswith(f"{RECOVERY}.yaml")
    assert error.path == path
    assert problem in error.problem


def test_a_recovery_of_a_recovery_is_refused(fixture_config: Path) -> None:
    with_recovery(fixture_config)
    (fixture_config / "delta.yaml").write_text(
        RECOVERY_YAML.replace(f"recovery_of: {APEX_OWNER}", f"recovery_of: {RECOVERY}")
    )
    error = account_error(fixture_config)
    assert error.path == "recovery_of"
    assert f"'{RECOVERY}' is no environment of its own" in error.problem


def test_a_recovery_has_no_bootstrap_and_no_first_deploy(fixture_config: Path) -> None:
    """Its account's bootstrap is the recovered environment's; it is deployed in a
    disaster only, so a fresh account's first deploy leaves it out."""
    from kreo_infra.config.loader import apex_owner
    from kreo_infra.layers import all_stacks, environment_stacks, first_deploy_order

    configs = load_environments(with_recovery(fixture_config))
    recovery = next(c for c in configs if c.name == RECOVERY)
    stacks = all_stacks(configs)
    assert f"kreo-{RECOVERY}-bootstrap" not in stacks
    assert set(environment_stacks(recovery)) <= set(stacks)
    assert not [s for s in first_deploy_order(configs) if f"kreo-{RECOVERY}-" in s]
    assert apex_owner([recovery, *configs]).name == APEX_OWNER


# --- what a recovery rebuilds from (loader._check_recovery_sources) ----------------------------


@pytest.mark.parametrize(
    "path", ["storage.replicate_to_dr_region", "secrets.replicate_to_dr_region",
             "backup.copy_to_dr_region"],
)  # fmt: skip
def test_the_recovered_environment_must_replicate_what_a_recovery_needs(
    fixture_config: Path, path: str
) -> None:
    """Its media, secrets and database backups in its DR region are all a recovery has."""
    section, flag = path.split(".")
    override(fixture_config, APEX_OWNER, {section: {flag: False}})
    error = account_error(with_recovery(fixture_config))
    assert error.file.endswith(f"{RECOVERY}.yaml")
    assert error.path == "recovery_of"
    assert f"{APEX_OWNER}'s {path} is off" in error.problem
    assert "us-west-2" in error.problem


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        (
            {"storage": "{media_bucket: kreo-alpha-media-dr, replicate_to_dr_region: true}"},
            "storage.replicate_to_dr_region",
        ),
        ({"secrets": "{replicate_to_dr_region: true}"}, "secrets.replicate_to_dr_region"),
        ({"backup": "{copy_to_dr_region: true}"}, "backup.copy_to_dr_region"),
    ],
)
def test_a_recovery_replicates_nothing_back(
    fixture_config: Path, changes: dict[str, str], path: str
) -> None:
    """Until fail-back: its DR region is the lost one."""
    error = account_error(with_recovery(fixture_config, **changes))
    assert error.file.endswith(f"{RECOVERY}.yaml")
    assert error.path == path
    assert "replicates nothing back to us-east-1 until fail-back (use false)" in error.problem


def test_a_recovery_serves_the_media_copy(fixture_config: Path) -> None:
    error = account_error(
        with_recovery(
            fixture_config,
            storage="{media_bucket: kreo-alpha-media, replicate_to_dr_region: false}",
        )
    )
    assert error.path == "storage.media_bucket"
    assert "serves media from its DR copy (use 'kreo-alpha-media-dr')" in error.problem


def test_a_recovery_may_take_the_recovered_media_copy_and_no_one_else_may(
    fixture_config: Path,
) -> None:
    """The DR copy is alpha's unique name (test_the_dr_copy_of_a_bucket_is_unique_too),
    but the recovery's to serve (RECOVERED_NAMES)."""
    configs = {c.name: c for c in load_environments(with_recovery(fixture_config))}
    copy = f"{configs[APEX_OWNER].storage.media_bucket}{DR_COPY_SUFFIX}"
    assert configs[RECOVERY].storage.media_bucket == copy
    assert "storage.media_bucket" in RECOVERED_NAMES
    override(fixture_config, SUBDOMAIN, {"storage": {"media_bucket": copy}})
    error = account_error(fixture_config)
    assert (error.path, error.file.endswith(f"{SUBDOMAIN}.yaml")) == ("storage.media_bucket", True)
    assert "alpha's storage.media_bucket (its DR copy)" in error.problem


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        (
            "arn:aws:rds:us-east-1:111111111111:auto-backup:ab-alpha0001",
            "names region 'us-east-1': the replicated backups are in this environment's "
            "region ('us-west-2')",
        ),
        (
            "arn:aws:rds:us-west-2:222222222222:auto-backup:ab-alpha0001",
            "names account '222222222222': the replicated backups are in this environment's "
            "account ('111111111111')",
        ),
    ],
    ids=["region", "account"],
)
def test_a_recovery_restores_from_backups_in_its_region_and_account(
    fixture_config: Path, arn: str, problem: str
) -> None:
    error = account_error(
        with_recovery(fixture_config, restore=f"{{automated_backups_arn: {arn}}}")
    )
    assert error.file.endswith(f"{RECOVERY}.yaml")
    assert error.path == "restore.automated_backups_arn"
    assert problem in error.problem


def test_a_recovery_keeps_its_state_out_of_the_lost_region(fixture_config: Path) -> None:
    error = account_error(with_recovery(fixture_config, state="{region: us-east-1}"))
    assert error.file.endswith(f"{RECOVERY}.yaml")
    assert error.path == "state.region"
    assert "'us-east-1'" in error.problem
    assert "(use 'us-west-2')" in error.problem


def test_a_recovery_needs_its_restore_source(fixture_config: Path) -> None:
    error = account_error(with_recovery(fixture_config, restore=None))
    assert error.file.endswith(f"{RECOVERY}.yaml")
    assert error.path == "restore"
    assert "set it exactly when recovery_of is set" in error.problem


def test_only_a_recovery_restores(fixture_config: Path) -> None:
    arn = "arn:aws:rds:us-east-1:222222222222:auto-backup:ab-beta0001"
    override(fixture_config, SUBDOMAIN, {"restore": {"automated_backups_arn": arn}})
    error = account_error(fixture_config)
    assert error.file.endswith(f"{SUBDOMAIN}.yaml")
    assert error.path == "restore"
    assert "set it exactly when recovery_of is set" in error.problem
