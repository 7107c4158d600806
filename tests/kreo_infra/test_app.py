"""The app holds kreo-<env>-<layer> for every environment and layer."""

from __future__ import annotations

from kreo_infra.app import LAYERS, stack_names
from kreo_infra.config import EnvironmentConfig
from tests.conftest import PROJECT_ROOT, Synthesis


def test_stack_names_follow_the_pattern(configs: list[EnvironmentConfig]) -> None:
    assert stack_names(configs) == [
        "kreo-bootstrap",
        "kreo-production-base",
        "kreo-production-network",
        "kreo-production-edge",
        "kreo-production-cluster",
        "kreo-production-data",
        "kreo-production-platform",
        "kreo-production-app",
        "kreo-production-backup",
        "kreo-production-observability",
        "kreo-staging-base",
        "kreo-staging-network",
        "kreo-staging-edge",
        "kreo-staging-cluster",
        "kreo-staging-data",
        "kreo-staging-platform",
        "kreo-staging-app",
        "kreo-staging-backup",
        "kreo-staging-observability",
    ]


def test_every_stack_is_synthesized(synthesis: Synthesis, all_stack_names: list[str]) -> None:
    assert synthesis.stack_names == sorted(all_stack_names)


def test_layers_have_unique_kebab_case_names() -> None:
    names = [layer.layer for layer in LAYERS]
    assert len(names) == len(set(names))
    assert all(name == name.lower() and " " not in name for name in names)


def test_one_environment_only(configs: list[EnvironmentConfig]) -> None:
    production = [c for c in configs if c.name == "production"]
    assert stack_names(production) == [
        "kreo-bootstrap",
        "kreo-production-base",
        "kreo-production-network",
        "kreo-production-edge",
        "kreo-production-cluster",
        "kreo-production-data",
        "kreo-production-platform",
        "kreo-production-app",
        "kreo-production-backup",
        "kreo-production-observability",
    ]


def test_build_environment_creates_the_layers_in_order(
    providers: None, configs: list[EnvironmentConfig]
) -> None:
    from cdktf import Testing as CdktfTesting

    from kreo_infra.app import build_environment

    stacks = build_environment(CdktfTesting.app(), configs[0], charts_dir=PROJECT_ROOT / "charts")
    assert [type(s) for s in stacks] == list(LAYERS)


def test_layer_names_without_cdktf_match_the_app(configs: list[EnvironmentConfig]) -> None:
    from kreo_infra.layers import ENVIRONMENT_LAYERS, all_stacks

    assert tuple(layer.layer for layer in LAYERS) == ENVIRONMENT_LAYERS
    assert all_stacks(configs) == stack_names(configs)


def test_environments_must_share_the_bootstrap(
    providers: None, configs: list[EnvironmentConfig]
) -> None:
    import pytest
    from cdktf import Testing as CdktfTesting

    from kreo_infra.app import build_account
    from kreo_infra.errors import PropsError

    staging = next(c for c in configs if c.name == "staging")
    other = staging.model_copy(
        update={"state": staging.state.model_copy(update={"bucket": "another-bucket"})}
    )
    production = next(c for c in configs if c.name == "production")
    with pytest.raises(PropsError, match=r"staging.state=.* share state with production"):
        build_account(CdktfTesting.app(), [production, other])


def test_one_environment_still_gets_the_whole_accounts_bootstrap(
    providers: None, configs: list[EnvironmentConfig], tmp_path
) -> None:
    import json

    from kreo_infra.app import build_app

    staging = [c for c in configs if c.name == "staging"]
    build_app(
        staging, charts_dir=PROJECT_ROOT / "charts", outdir=str(tmp_path), account_configs=configs
    ).synth()
    stacks = sorted(p.name for p in (tmp_path / "stacks").iterdir())
    assert stacks[0] == "kreo-bootstrap"
    assert all(s == "kreo-bootstrap" or s.startswith("kreo-staging-") for s in stacks)
    bootstrap = json.loads((tmp_path / "stacks" / "kreo-bootstrap" / "cdk.tf.json").read_text())
    roles = {r["name"] for r in bootstrap["resource"]["aws_iam_role"].values()}
    assert {"kreo-deploy-production", "kreo-deploy-staging"} <= roles
