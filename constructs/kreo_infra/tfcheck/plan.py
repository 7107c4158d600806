"""Which stacks of a synth output are checked, in what order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kreo_infra.layers import ACCOUNT_LAYERS, ENVIRONMENT_LAYERS, GITHUB_LAYER


@dataclass(frozen=True)
class Order:
    """The stacks of ``cdktf.out/`` in deployment order.

    ``chains``: one list per environment, its account's stacks (the bootstrap:
    every environment has an account of its own) first; a chain is applied in
    order, each stack reading the state of the ones before it.
    """

    chains: tuple[tuple[str, ...], ...]

    @property
    def all(self) -> list[str]:
        return [name for chain in self.chains for name in chain]


def deployment_order(outdir: Path, only: str | None = None) -> Order:
    """Group ``outdir``'s stacks into one chain per environment (its account's stacks
    first), each in the layer order of :mod:`kreo_infra.layers`."""
    names = sorted(p.name for p in (outdir / "stacks").iterdir() if p.is_dir())
    layers = (*ACCOUNT_LAYERS, *ENVIRONMENT_LAYERS)
    environments: dict[str, dict[str, str]] = {}
    for name in names:
        prefix, _, layer = name.rpartition("-")
        if layer == GITHUB_LAYER and "-" not in prefix:
            # The GitHub settings: no AWS resource, nothing to order or emulate.
            environments.setdefault(name, {})[layer] = name
            continue
        if layer not in layers:
            raise ValueError(f"{name}: not a layer of kreo_infra.layers")
        environments.setdefault(prefix, {})[layer] = name
    chains = [
        tuple(stacks[layer] for layer in (*layers, GITHUB_LAYER) if layer in stacks)
        for prefix, stacks in sorted(environments.items())
        if not only or prefix.endswith(f"-{only}")
    ]
    return Order(chains=tuple(c for c in chains if c))
