"""Stack names in deployment order, without loading cdktf (for ``main.py --stacks``)."""

from __future__ import annotations

from collections.abc import Sequence

from kreo_infra.config import EnvironmentConfig

ACCOUNT_LAYERS = ("bootstrap",)
"""One stack per AWS account: ``<project>-<layer>``."""

ENVIRONMENT_LAYERS = (
    "base",
    "network",
    "edge",
    "cluster",
    "data",
    "platform",
    "app",
    "backup",
    "observability",
)
"""One stack per environment, ``<project>-<env>-<layer>``, in deployment order
(the same order as ``kreo_infra.app.LAYERS``; a test keeps them equal)."""


def environment_stacks(config: EnvironmentConfig) -> list[str]:
    """The stacks of ``config``'s environment, in deployment order."""
    return [f"{config.stack_prefix}-{layer}" for layer in ENVIRONMENT_LAYERS]


def all_stacks(configs: Sequence[EnvironmentConfig]) -> list[str]:
    """The account's stacks, then each environment's, in deployment order."""
    if not configs:
        return []
    account = [f"{configs[0].project}-{layer}" for layer in ACCOUNT_LAYERS]
    return account + [name for config in configs for name in environment_stacks(config)]
