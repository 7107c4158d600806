"""The wiring: every environment's stacks in one cdktf ``App``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cdktf import App

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.loader import apex_owner, parent_of
from kreo_infra.errors import PropsError
from kreo_infra.layers import ENVIRONMENT_LAYERS, account_layers
from kreo_infra.stacks import (
    AppStack,
    BackupStack,
    BaseStack,
    BootstrapStack,
    ClusterStack,
    DataStack,
    EdgeStack,
    GithubStack,
    KreoStack,
    NetworkStack,
    ObservabilityStack,
    PlatformStack,
)


def build_environment(
    app: App,
    config: EnvironmentConfig,
    *,
    charts_dir: Path,
    peers: Sequence[EnvironmentConfig] = (),
) -> list[KreoStack]:
    """The stacks of one environment, in the order of ``layers.ENVIRONMENT_LAYERS``
    (the one list of layers), each given the published outputs of the earlier
    stacks it reads (kreo_infra.stacks.outputs).

    ``peers`` (every environment; default: this one alone) say where the shared
    things live: the image registry in the apex owner's account, the parent
    zone in its owner's account."""
    peers = list(peers) or [config]
    parent = parent_of(config, peers)
    stacks: dict[str, KreoStack] = {}

    def published(stack: type[KreoStack]) -> Any:
        return stacks[stack.layer].outputs

    wiring: dict[str, Callable[[], KreoStack]] = {
        BaseStack.layer: lambda: BaseStack(app, config=config),
        NetworkStack.layer: lambda: NetworkStack(app, config=config),
        EdgeStack.layer: lambda: EdgeStack(
            app, config=config, parent_zone_account_id=parent.account_id if parent else None
        ),
        ClusterStack.layer: lambda: ClusterStack(
            app,
            config=config,
            network=published(NetworkStack),
            edge=published(EdgeStack),
            registry_account_id=apex_owner(peers).account_id,
        ),
        DataStack.layer: lambda: DataStack(
            app,
            config=config,
            network=published(NetworkStack),
            edge=published(EdgeStack),
            cluster=published(ClusterStack),
        ),
        PlatformStack.layer: lambda: PlatformStack(
            app,
            config=config,
            network=published(NetworkStack),
            edge=published(EdgeStack),
            cluster=published(ClusterStack),
            charts_dir=charts_dir,
        ),
        AppStack.layer: lambda: AppStack(
            app,
            config=config,
            edge=published(EdgeStack),
            cluster=published(ClusterStack),
            data=published(DataStack),
            platform=stacks[PlatformStack.layer],
            charts_dir=charts_dir,
        ),
        BackupStack.layer: lambda: BackupStack(app, config=config, data=published(DataStack)),
        ObservabilityStack.layer: lambda: ObservabilityStack(
            app,
            config=config,
            edge=published(EdgeStack),
            cluster=published(ClusterStack),
            data=published(DataStack),
            backup=published(BackupStack),
            app=stacks[AppStack.layer],
        ),
    }
    if set(wiring) != set(ENVIRONMENT_LAYERS):
        raise PropsError(
            "build_environment", "wiring", sorted(wiring),
            f"wire exactly the layers of kreo_infra.layers: {', '.join(ENVIRONMENT_LAYERS)}",
        )  # fmt: skip
    for layer in ENVIRONMENT_LAYERS:
        stacks[layer] = wiring[layer]()
    return list(stacks.values())


def build_account(
    app: App, config: EnvironmentConfig, peers: Sequence[EnvironmentConfig]
) -> BootstrapStack:
    """``kreo-<env>-bootstrap``: the environment's account, knowing every environment
    (``peers``) for what the accounts share (registry pulls, zone delegations)."""
    return BootstrapStack(app, config=config, environments=peers)


def build_github(app: App, peers: Sequence[EnvironmentConfig]) -> GithubStack:
    """``kreo-github``: the repositories' GitHub settings, once for every environment,
    its state in the apex owner's bucket (a repository administrator applies it)."""
    return GithubStack(app, config=apex_owner(peers), environments=[c.name for c in peers])


def build_app(
    configs: Sequence[EnvironmentConfig],
    *,
    charts_dir: Path,
    outdir: str | None = None,
    account_configs: Sequence[EnvironmentConfig] | None = None,
) -> App:
    """An ``App`` holding ``kreo-<env>-bootstrap`` and ``kreo-<env>-<layer>`` for every
    config and layer.

    ``account_configs`` (default: ``configs``) are every environment: what the
    accounts share (the registry's pull grants, the zone delegation roles, where
    the registry and the parent zones are) depends on all of them, so
    synthesizing one environment yields the same stacks as synthesizing all.
    ``charts_dir`` holds the project's local charts (``charts/``); ``outdir``
    defaults to what the cdktf CLI passes (``cdktf.out``); tests pass a
    temporary directory.
    """
    app = App(outdir=outdir) if outdir else App()
    peers = list(account_configs or configs)
    for config in configs:
        if account_layers(config):
            build_account(app, config, peers)
        build_environment(app, config, charts_dir=charts_dir, peers=peers)
    if configs:
        build_github(app, peers)
    return app
