"""The app holds kreo-<env>-<layer> for every environment and layer."""

from __future__ import annotations

from kreo_infra.app import LAYERS, stack_names
from kreo_infra.config import EnvironmentConfig
from tests.conftest import PROJECT_ROOT, Synthesis

LAYER_NAMES = (
    "base", "network", "edge", "cluster", "data", "platform", "app", "backup", "observability",
)  # fmt: skip
"""The layers in deployment order, spelled out: the pattern under test."""


def environment_stack_names(config: EnvironmentConfig) -> list[str]:
    return [f"kreo-{config.name}-{layer}" for layer in LAYER_NAMES]


def test_stack_names_follow_the_pattern(configs: list[EnvironmentConfig]) -> None:
    assert stack_names(configs) == [
        "kreo-bootstrap",
        *(name for config in configs for name in environment_stack_names(config)),
    ]


def test_every_stack_is_synthesized(synthesis: Synthesis, all_stack_names: list[str]) -> None:
    assert synthesis.stack_names == sorted(all_stack_names)


def test_layers_have_unique_kebab_case_names() -> None:
    names = [layer.layer for layer in LAYERS]
    assert len(names) == len(set(names))
    assert all(name == name.lower() and " " not in name for name in names)


def test_one_environment_only(configs: list[EnvironmentConfig], env_name: str) -> None:
    selected = [c for c in configs if c.name == env_name]
    assert stack_names(selected) == ["kreo-bootstrap", *environment_stack_names(selected[0])]


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


def test_the_bootstrap_speaks_for_the_apex_owner(
    providers: None, configs: list[EnvironmentConfig]
) -> None:
    """Whatever order the environments come in (the loader has checked they agree on
    what the bootstrap creates: tests/kreo_infra/config/test_account.py)."""
    from cdktf import Testing as CdktfTesting

    from kreo_infra.app import build_account

    (owner,) = [c for c in configs if c.dns.domain == c.dns.apex]
    for ordered in (configs, list(reversed(configs))):
        assert build_account(CdktfTesting.app(), ordered).config is owner


def test_one_environment_still_gets_the_whole_accounts_bootstrap(
    providers: None, configs: list[EnvironmentConfig], tmp_path
) -> None:
    import json

    from kreo_infra.app import build_app

    # The last environment alone: its deploy role is not the only one the bootstrap needs.
    alone = configs[-1]
    build_app(
        [alone], charts_dir=PROJECT_ROOT / "charts", outdir=str(tmp_path), account_configs=configs
    ).synth()
    stacks = sorted(p.name for p in (tmp_path / "stacks").iterdir())
    assert stacks == sorted(["kreo-bootstrap", *environment_stack_names(alone)])
    bootstrap = json.loads((tmp_path / "stacks" / "kreo-bootstrap" / "cdk.tf.json").read_text())
    roles = {r["name"] for r in bootstrap["resource"]["aws_iam_role"].values()}
    assert len(configs) > 1
    assert {f"kreo-deploy-{c.name}" for c in configs} <= roles
