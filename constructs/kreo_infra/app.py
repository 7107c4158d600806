"""The wiring: every environment's stacks in one cdktf ``App``."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import App

from kreo_infra.config import EnvironmentConfig
from kreo_infra.stacks import BaseStack, ClusterStack, DataStack, KreoStack, NetworkStack

LAYERS: tuple[type[KreoStack], ...] = (BaseStack, NetworkStack, ClusterStack, DataStack)
"""Stack classes in deployment order; :func:`build_environment` creates exactly these."""


def build_environment(app: App, config: EnvironmentConfig) -> list[KreoStack]:
    """The stacks of one environment, each given the earlier stacks it reads."""
    base = BaseStack(app, config=config)
    network = NetworkStack(app, config=config)
    cluster = ClusterStack(app, config=config, network=network)
    data = DataStack(app, config=config, network=network, cluster=cluster)
    return [base, network, cluster, data]


def build_app(configs: Sequence[EnvironmentConfig], *, outdir: str | None = None) -> App:
    """An ``App`` holding ``kreo-<env>-<layer>`` for every config and layer.

    ``outdir`` defaults to what the cdktf CLI passes (``cdktf.out``); tests pass
    a temporary directory.
    """
    app = App(outdir=outdir) if outdir else App()
    for config in configs:
        build_environment(app, config)
    return app


def stack_names(configs: Sequence[EnvironmentConfig]) -> list[str]:
    """The stack ids :func:`build_app` creates, in deployment order."""
    return [layer.name_for(config) for config in configs for layer in LAYERS]
