"""The wiring: every environment's stacks in one cdktf ``App``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cdktf import App

from kreo_infra.config import EnvironmentConfig
from kreo_infra.stacks import (
    AppStack,
    BackupStack,
    BaseStack,
    BootstrapStack,
    ClusterStack,
    DataStack,
    EdgeStack,
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


def build_environment(app: App, config: EnvironmentConfig, *, charts_dir: Path) -> list[KreoStack]:
    """The stacks of one environment, each given the earlier stacks it reads."""
    base = BaseStack(app, config=config)
    network = NetworkStack(app, config=config)
    edge = EdgeStack(app, config=config)
    cluster = ClusterStack(app, config=config, network=network, edge=edge)
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


def build_account(app: App, configs: Sequence[EnvironmentConfig]) -> BootstrapStack:
    """``kreo-bootstrap``, once for all environments (they share the account), built
    from the environment that owns the domain's apex."""
    # The loader has checked that they agree (loader.check_account); the apex's
    # owner (production) speaks for the account: its tags go on the bootstrap.
    owner = next((c for c in configs if c.dns.domain == c.dns.apex), configs[0])
    services = sorted({service for config in configs for service in config.services})
    return BootstrapStack(
        app, config=owner, environments=[c.name for c in configs], services=services
    )


def build_app(
    configs: Sequence[EnvironmentConfig],
    *,
    charts_dir: Path,
    outdir: str | None = None,
    account_configs: Sequence[EnvironmentConfig] | None = None,
) -> App:
    """An ``App`` holding ``kreo-bootstrap`` and ``kreo-<env>-<layer>`` for every
    config and layer.

    ``account_configs`` (default: ``configs``) are every environment of the
    account: the bootstrap always gets all of them, so synthesizing one
    environment never yields a bootstrap without the others' deploy roles.
    ``charts_dir`` holds the project's local charts (``charts/``); ``outdir``
    defaults to what the cdktf CLI passes (``cdktf.out``); tests pass a
    temporary directory.
    """
    app = App(outdir=outdir) if outdir else App()
    build_account(app, account_configs or configs)
    for config in configs:
        build_environment(app, config, charts_dir=charts_dir)
    return app


def stack_names(configs: Sequence[EnvironmentConfig]) -> list[str]:
    """The stack ids :func:`build_app` creates, in deployment order."""
    account = [BootstrapStack.name_for(configs[0])] if configs else []
    return account + [layer.name_for(config) for config in configs for layer in LAYERS]
