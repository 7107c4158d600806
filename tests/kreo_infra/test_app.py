"""The app holds kreo-<env>-bootstrap and kreo-<env>-<layer> for every environment and layer."""

from __future__ import annotations

import pytest

from kreo_infra.config import EnvironmentConfig
from kreo_infra.layers import ENVIRONMENT_LAYERS, all_stacks
from tests.conftest import PROJECT_ROOT, Synthesis

LAYER_NAMES = (
    "base", "network", "edge", "cluster", "data", "platform", "app", "backup", "observability",
)  # fmt: skip
"""The layers in deployment order, spelled out: the pattern under test."""


def environment_stack_names(config: EnvironmentConfig) -> list[str]:
    """The environment's bootstrap (its account's), then its layers. A recovery
    environment has no bootstrap: its account is the recovered environment's."""
    account = () if config.recovery_of else ("bootstrap",)
    return [f"kreo-{config.name}-{layer}" for layer in (*account, *LAYER_NAMES)]


def test_stack_names_follow_the_pattern(configs: list[EnvironmentConfig]) -> None:
    """Each environment's bootstrap and layers, then the repositories' GitHub settings."""
    assert all_stacks(configs) == [
        *(name for config in configs for name in environment_stack_names(config)),
        "kreo-github",
    ]


def test_every_stack_is_synthesized(synthesis: Synthesis, all_stack_names: list[str]) -> None:
    assert synthesis.stack_names == sorted(all_stack_names)


def test_layers_have_unique_kebab_case_names() -> None:
    names = list(ENVIRONMENT_LAYERS)
    assert len(names) == len(set(names))
    assert all(name == name.lower() and " " not in name for name in names)


def test_one_environment_only(configs: list[EnvironmentConfig], env_name: str) -> None:
    selected = [c for c in configs if c.name == env_name]
    assert all_stacks(selected) == [*environment_stack_names(selected[0]), "kreo-github"]


def test_a_recovery_is_bootstrapped_by_the_account_it_runs_in(
    configs: list[EnvironmentConfig], recovery_name: str
) -> None:
    """No bootstrap of its own: the recovered environment's (same account) is there."""
    stacks = all_stacks(configs)
    recovery = next(c for c in configs if c.name == recovery_name)
    assert f"kreo-{recovery_name}-bootstrap" not in stacks
    assert f"kreo-{recovery.recovery_of}-bootstrap" in stacks


def test_build_environment_creates_the_layers_in_order(
    providers: None, configs: list[EnvironmentConfig]
) -> None:
    from cdktf import Testing as CdktfTesting

    from kreo_infra.app import build_environment

    stacks = build_environment(CdktfTesting.app(), configs[0], charts_dir=PROJECT_ROOT / "charts")
    assert tuple(s.layer for s in stacks) == ENVIRONMENT_LAYERS
    assert [s.stack_name for s in stacks] == all_stacks([configs[0]])[1:-1]


def test_build_environment_wires_exactly_the_layer_list(
    providers: None, configs: list[EnvironmentConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer added to the list without its wiring (or the reverse) stops the build."""
    from cdktf import Testing as CdktfTesting

    from kreo_infra import app
    from kreo_infra.errors import PropsError

    monkeypatch.setattr(app, "ENVIRONMENT_LAYERS", (*ENVIRONMENT_LAYERS, "cache-warmer"))
    with pytest.raises(PropsError, match="wire exactly the layers"):
        app.build_environment(CdktfTesting.app(), configs[0], charts_dir=PROJECT_ROOT / "charts")


def test_each_environment_gets_its_own_accounts_bootstrap(
    providers: None, configs: list[EnvironmentConfig]
) -> None:
    from cdktf import Testing as CdktfTesting

    from kreo_infra.app import build_account

    for config in configs:
        if config.recovery_of is None:  # a recovery's account is the recovered one's
            assert build_account(CdktfTesting.app(), config, configs).config is config


def test_one_environment_synthesizes_as_it_does_among_all(
    providers: None, synthesis: Synthesis, configs: list[EnvironmentConfig], tmp_path
) -> None:
    """What the accounts share depends on every environment (registry pulls, zone
    delegations): one environment alone yields the same stacks as all of them."""
    import json

    from kreo_infra.app import build_app

    alone = configs[-1]
    build_app(
        [alone], charts_dir=PROJECT_ROOT / "charts", outdir=str(tmp_path), account_configs=configs
    ).synth()
    stacks = sorted(p.name for p in (tmp_path / "stacks").iterdir())
    assert stacks == sorted([*environment_stack_names(alone), "kreo-github"])
    for name in stacks:
        mine = json.loads((tmp_path / "stacks" / name / "cdk.tf.json").read_text())
        assert mine == synthesis.stack(name), name
