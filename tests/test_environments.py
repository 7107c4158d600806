"""A new environment is one small file that cannot collide with another.

The committed config/ plus the minimal ``qa.yaml`` below: it loads, its names
follow the naming rule, its stacks synthesize with no name any other
environment's stacks use, and the same file copying a unique name is rejected
with one line naming the field. The workflows deploy every environment config/
defines (a recovery only by hand, in a region loss) and plan every environment
of its own.
"""

from __future__ import annotations

import shutil
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import ConfigError, EnvironmentConfig, load_environments
from kreo_infra.config.loader import RECOVERED_NAMES
from tests.conftest import (
    CONFIG_DIR,
    ENVIRONMENT_NAMES,
    OWN_ENVIRONMENT_NAMES,
    PROJECT_ROOT,
    Synthesis,
)

QA = "qa"
QA_YAML = """\
# QA: qa.kreo.com, in an account of its own; a smaller cluster, one NAT gateway
account_id: "777788889999"
tags: {cost_center: marketplace-qa}
cluster: {node_groups: {general: {min_size: 1, desired_size: 1, max_size: 2}}}
network: {single_nat_gateway: true}
backup: {vault_lock: false}
"""
"""What the README's "Add an environment" shows: nothing unique is written down."""

ACCOUNT_UNIQUE = {
    "aws_s3_bucket": "bucket",
    "aws_iam_role": "name",
    "aws_iam_policy": "name",
    "aws_kms_alias": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_cloudwatch_dashboard": "dashboard_name",
    "aws_sns_topic": "name",
    "aws_secretsmanager_secret": "name",
    "aws_db_instance": "identifier",
    "aws_db_proxy": "name",
    "aws_db_subnet_group": "name",
    "aws_db_parameter_group": "name",
    "aws_elasticache_replication_group": "replication_group_id",
    "aws_elasticache_subnet_group": "name",
    "aws_elasticache_parameter_group": "name",
    "aws_elasticache_user": "user_id",
    "aws_opensearch_domain": "domain_name",
    "aws_eks_cluster": "name",
    "aws_route53_zone": "name",
    "aws_wafv2_web_acl": "name",
    "aws_cloudfront_origin_access_control": "name",
    "aws_cloudfront_response_headers_policy": "name",
    "aws_backup_vault": "name",
    "aws_backup_plan": "name",
    "aws_codebuild_project": "name",
    "aws_launch_template": "name",
}
"""Resource names unique in an account and region: two stacks of one environment (one
account) sharing one would fail to apply, or (a hosted zone) silently make a second one."""

GLOBALLY_UNIQUE = {"aws_s3_bucket": "bucket", "aws_route53_zone": "name"}
"""Names unique across accounts: S3 buckets everywhere, and a public zone's name, which
only one zone can be delegated (the others are parked, never answered)."""

RECOVERED_KINDS = {"dns.domain": "aws_route53_zone", "storage.media_bucket": "aws_s3_bucket"}
"""The resource each of a recovery's ``RECOVERED_NAMES`` (config.loader) names: the
recovered environment's zone, and the DR copy of its media (what the recovery serves)."""


@pytest.fixture(scope="module")
def qa_config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("qa") / "config"
    shutil.copytree(CONFIG_DIR, target)
    (target / f"{QA}.yaml").write_text(QA_YAML)
    return target


@pytest.fixture(scope="module")
def qa_configs(qa_config_dir: Path) -> list[EnvironmentConfig]:
    return load_environments(qa_config_dir)


def qa_of(configs: list[EnvironmentConfig]) -> EnvironmentConfig:
    return next(c for c in configs if c.name == QA)


def test_a_new_environment_is_one_small_file(qa_configs: list[EnvironmentConfig]) -> None:
    qa = qa_of(qa_configs)
    assert len(QA_YAML.splitlines()) <= 6
    assert qa.stack_prefix == "kreo-qa"
    assert qa.dns.domain == "qa.kreo.com"
    assert qa.dns.delegate_from == qa.dns.apex
    assert qa.storage.media_bucket == "kreo-marketplace-qa"
    assert qa.edge.www_bucket == "kreo-marketplace-qa-www"
    assert qa.application.cors_origins == ["https://www.qa.kreo.com", "https://vendors.qa.kreo.com"]


def test_copying_a_unique_name_is_rejected(qa_config_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "config"
    shutil.copytree(qa_config_dir, target)
    taken = load_environments(CONFIG_DIR)[0].storage.media_bucket
    (target / f"{QA}.yaml").write_text(QA_YAML + f"storage: {{media_bucket: {taken}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_environments(target)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{target / 'qa.yaml'}: storage.media_bucket: '{taken}' is also ")


def names_of(
    stacks: dict[str, dict[str, Any]], unique: dict[str, str] = GLOBALLY_UNIQUE
) -> dict[tuple[str, str, str], str]:
    """``(resource type, literal name) -> stack`` of every name ``unique`` lists."""
    found = {}
    for stack_name, stack in stacks.items():
        for kind, attribute in unique.items():
            for body in stack.get("resource", {}).get(kind, {}).values():
                value = body.get(attribute)
                if isinstance(value, str) and "${" not in value:
                    # Unique per region (S3 and zones: everywhere, one key anyway).
                    region = body.get("region") or body.get("provider", "")
                    where = "" if unique is GLOBALLY_UNIQUE else region
                    assert (kind, value, where) not in found, f"{kind} {value!r} twice"
                    found[(kind, value, where)] = stack_name
    return found


@pytest.fixture(scope="module")
def qa_stacks(
    synthesis: Synthesis, qa_configs: list[EnvironmentConfig], tmp_path_factory
) -> dict[str, dict[str, Any]]:
    """The qa environment's stacks, synthesized beside the session's (one more ~5 s)."""
    import json

    from kreo_infra.app import build_app

    outdir = tmp_path_factory.mktemp("qa-cdktf.out")
    build_app(
        [qa_of(qa_configs)],
        charts_dir=PROJECT_ROOT / "charts",
        outdir=str(outdir),
        account_configs=qa_configs,
    ).synth()
    return {
        path.parent.name: json.loads(path.read_text())
        for path in (outdir / "stacks").glob("kreo-qa-*/cdk.tf.json")
    }


def test_qa_synthesizes_every_layer(qa_stacks: dict[str, dict[str, Any]]) -> None:
    from kreo_infra.layers import ENVIRONMENT_LAYERS

    assert sorted(qa_stacks) == sorted(
        f"kreo-qa-{layer}" for layer in ("bootstrap", *ENVIRONMENT_LAYERS)
    )


def clashes(by_environment: dict[str, dict[tuple[str, str, str], str]]) -> list[str]:
    """Every account-unique name two environments' stacks both use."""
    seen: dict[tuple[str, str, str], str] = {}
    found = []
    for names in by_environment.values():
        for key, stack in names.items():
            if key in seen:
                found.append(f"{key[0]} {key[1]!r}: {seen[key]} and {stack}")
            seen[key] = stack
    return found


def test_no_account_holds_a_name_twice(
    synthesis: Synthesis, qa_stacks: dict[str, dict[str, Any]]
) -> None:
    """Within one environment's account, every account-unique name is made once."""
    for config in synthesis.configs:
        mine = {
            name: synthesis.stack(name)
            for name in synthesis.stack_names
            if name.startswith(f"{config.stack_prefix}-")
        }
        assert len(names_of(mine, ACCOUNT_UNIQUE)) > 50
    assert len(names_of(qa_stacks, ACCOUNT_UNIQUE)) > 50


def recovered_names(
    config: EnvironmentConfig, by_environment: dict[str, dict[tuple[str, str, str], str]]
) -> set[tuple[str, str, str]]:
    """The names a recovery may share, with its recovered environment only: what its
    ``RECOVERED_NAMES`` hold, each the recovered environment's own (its zone, its media
    bucket's DR copy). None for an environment of its own."""
    if config.recovery_of is None:
        return set()
    assert set(RECOVERED_KINDS) == set(RECOVERED_NAMES)
    recovered = by_environment[config.recovery_of]
    allowed = set()
    for path, kind in RECOVERED_KINDS.items():
        value = attrgetter(path)(config)
        # The recovered environment makes it: the recovery reuses, never invents, a name.
        assert (kind, value, "") in recovered, f"{config.name}'s {path} {value!r}"
        allowed.add((kind, value, ""))
    return allowed


def test_no_environment_shares_a_globally_unique_name(
    synthesis: Synthesis, qa_stacks: dict[str, dict[str, Any]]
) -> None:
    """Every environment's bucket and zone names are its own, except that a recovery may
    use its recovered environment's zone and media DR copy (RECOVERED_NAMES), nothing
    else and no other environment's."""
    by_environment = {
        config.name: names_of(
            {
                name: synthesis.stack(name)
                for name in synthesis.stack_names
                if name.startswith(f"{config.stack_prefix}-")
            }
        )
        for config in synthesis.configs
    }
    # A recovery may make none: its zone and media bucket are its recovered environment's.
    assert all(by_environment[name] for name in OWN_ENVIRONMENT_NAMES)
    for config in synthesis.configs:
        allowed = recovered_names(config, by_environment)
        recovered = by_environment.get(config.recovery_of or "", {})
        by_environment[config.name] = {
            key: stack
            for key, stack in by_environment[config.name].items()
            if not (key in allowed and key in recovered)
        }
    by_environment[QA] = names_of(qa_stacks)
    assert clashes(by_environment) == []


def test_the_clash_check_bites(qa_stacks: dict[str, dict[str, Any]]) -> None:
    """Two environments with qa's names would clash on every one of them."""
    names = names_of(qa_stacks)
    assert len(clashes({"one": names, "two": dict(names)})) == len(names) > 5
    with pytest.raises(AssertionError, match="twice"):
        names_of({**qa_stacks, "copy": qa_stacks["kreo-qa-data"]}, ACCOUNT_UNIQUE)


# --- the workflows deploy and plan every environment ---------------------------------------------


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / name).read_text())


def test_the_deploy_workflow_deploys_every_environment(configs: list[EnvironmentConfig]) -> None:
    """Every environment, each phase planned then applied in its GitHub environment and
    its region; a recovery only by hand with the region-loss input (never on a push),
    an environment of its own never with it."""
    deploy = workflow("infra-deploy.yml")
    jobs = deploy["jobs"]
    on = deploy.get("on", deploy.get(True))  # YAML 1.1 reads a bare `on` as true
    (flag,) = set(on["workflow_dispatch"]["inputs"]) - {"first_deploy"}
    for config in configs:
        env = config.name
        applies = {f"{env}-infrastructure", f"{env}-workloads"}
        assert applies <= set(jobs), env
        for job_id in applies | {f"{job}-plan" for job in applies}:
            job = jobs[job_id]
            assert {**deploy["env"], **job["env"]}["AWS_REGION"] == config.region, job_id
            if job_id in applies:
                assert job["environment"] == env, job_id
            if config.recovery_of is None:
                assert f"!inputs.{flag}" in job["if"], job_id
            else:
                assert f"github.event_name == 'workflow_dispatch' && inputs.{flag}" in job["if"], (
                    job_id
                )
                assert f"!inputs.{flag}" not in job["if"], job_id
    phased = {j.rsplit("-", 1)[0] for j in jobs if j.endswith(("-infrastructure", "-workloads"))}
    assert phased == set(ENVIRONMENT_NAMES)


def test_the_pull_request_workflow_plans_every_environment(
    configs: list[EnvironmentConfig],
) -> None:
    """Every environment of its own; no recovery (its stacks have no state until a
    disaster: a full-create plan on every pull request would be noise)."""
    jobs = workflow("infra-ci.yml")["jobs"]
    for job in ("plan-infrastructure", "plan-workloads"):
        planned = jobs[job]["strategy"]["matrix"]["environment"]
        assert sorted(planned) == sorted(OWN_ENVIRONMENT_NAMES)
    text = (PROJECT_ROOT / ".github" / "workflows" / "infra-ci.yml").read_text()
    for config in configs:
        if config.recovery_of is not None:
            assert f"{config.stack_prefix}-" not in text, config.name
