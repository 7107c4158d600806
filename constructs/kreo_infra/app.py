"""The wiring: every environment's stacks in one cdktf ``App``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cdktf import App

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.loader import apex_owner, parent_of
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

LAYERS: tuple[type[KreoStack], ...] = (
    BaseStack,
    NetworkStack,
    EdgeStack,
    ClusterStack,
    DataStack,
    PlatformStack,
    AppStack,
    BackupStack,
    ObservabilityStack,
)
"""Stack classes in deployment order; :func:`build_environment` creates exactly these."""


def build_environment(
    app: App,
    config: EnvironmentConfig,
    *,
    charts_dir: Path,
    peers: Sequence[EnvironmentConfig] = (),
) -> list[KreoStack]:
    """The stacks of one environment, each given the earlier stacks it reads.

    ``peers`` (every environment; default: this one alone) say where the shared
    things live: the image registry in the apex owner's account, the parent
    zone in its owner's account."""
    peers = list(peers) or [config]
    parent = parent_of(config, peers)
    base = BaseStack(app, config=config)
    network = NetworkStack(app, config=config)
    edge = EdgeStack(
        app, config=config, parent_zone_account_id=parent.account_id if parent else None
    )
    cluster = ClusterStack(
        app,
        config=config,
        network=network,
        edge=edge,
        registry_account_id=apex_owner(peers).account_id,
    )
    data = DataStack(app, config=config, network=network, edge=edge, cluster=cluster)
    platform = PlatformStack(
        app, config=config, network=network, edge=edge, cluster=cluster, charts_dir=charts_dir
    )
    app_stack = AppStack(
        app,
        config=config,
        edge=edge,
        cluster=cluster,
        data=data,
        platform=platform,
        charts_dir=charts_dir,
    )
    backup = BackupStack(app, config=config, data=data)
    observability = ObservabilityStack(
        app, config=config, edge=edge, cluster=cluster, data=data, app=app_stack, backup=backup
    )
    return [base, network, edge, cluster, data, platform, app_stack, backup, observability]


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
        build_account(app, config, peers)
        build_environment(app, config, charts_dir=charts_dir, peers=peers)
    if configs:
        build_github(app, peers)
    return app


def stack_names(configs: Sequence[EnvironmentConfig]) -> list[str]:
    """The stack ids :func:`build_app` creates: each environment's bootstrap and layers,
    then ``kreo-github``."""
    return [
        name
        for config in configs
        for name in [BootstrapStack.name_for(config), *(layer.name_for(config) for layer in LAYERS)]
    ] + ([GithubStack.name_for(configs[0])] if configs else [])
