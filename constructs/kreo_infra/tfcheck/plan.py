"""Which stacks of a synth output are checked, in what order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kreo_infra.layers import ACCOUNT_LAYERS, ENVIRONMENT_LAYERS


@dataclass(frozen=True)
class Order:
    """The stacks of ``cdktf.out/`` in deployment order.

    ``chains``: the account's stacks, then one list per environment; a chain is
    applied in order, each stack reading the state of the ones before it.
    """

    chains: tuple[tuple[str, ...], ...]

    @property
    def all(self) -> list[str]:
        return [name for chain in self.chains for name in chain]


def deployment_order(outdir: Path, only: str | None = None) -> Order:
    """Group ``outdir``'s stacks into the account chain and one chain per environment,
    each in the layer order of :mod:`kreo_infra.layers`."""
    names = sorted(p.name for p in (outdir / "stacks").iterdir() if p.is_dir())
    account = [n for n in names if n.rsplit("-", 1)[-1] in ACCOUNT_LAYERS]
    environments: dict[str, dict[str, str]] = {}
    for name in names:
        if name in account:
            continue
        prefix, _, layer = name.rpartition("-")
        if layer not in ENVIRONMENT_LAYERS:
            raise ValueError(f"{name}: not a layer of kreo_infra.layers.ENVIRONMENT_LAYERS")
        environments.setdefault(prefix, {})[layer] = name
    chains = [tuple(sorted(account, key=lambda n: ACCOUNT_LAYERS.index(n.rsplit("-", 1)[-1])))]
    for prefix, layers in sorted(environments.items()):
        if only and not prefix.endswith(f"-{only}"):
            continue
        chains.append(tuple(layers[layer] for layer in ENVIRONMENT_LAYERS if layer in layers))
    return Order(chains=tuple(c for c in chains if c))
