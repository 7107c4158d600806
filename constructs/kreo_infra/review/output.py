"""A synthesized ``cdktf.out/`` read as data: stacks, resources, dependencies."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from kreo_infra.layers import ACCOUNT_LAYERS, ENVIRONMENT_LAYERS

METADATA_KEY = "//"
"""cdktf's metadata block in every resource: not configuration."""


@dataclass(frozen=True)
class Resource:
    """One resource of one stack, addressed by its construct path (stable across syntheses)."""

    stack: str
    type: str
    path: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{self.stack}: {self.type}.{self.path}"

    @property
    def config(self) -> dict[str, Any]:
        """The resource's arguments without cdktf's metadata."""
        return {k: v for k, v in self.body.items() if k != METADATA_KEY}


class SynthOutput:
    """``cdktf.out/``: ``manifest.json`` and ``stacks/<stack>/cdk.tf.json``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        manifest = self.root / "manifest.json"
        if not manifest.is_file():
            raise FileNotFoundError(f"{self.root}: no manifest.json (run `make synth` first)")
        self.manifest = json.loads(manifest.read_text(encoding="utf-8"))

    @cached_property
    def stack_names(self) -> list[str]:
        return sorted(self.manifest["stacks"])

    def dependencies(self, stack: str) -> list[str]:
        return sorted(self.manifest["stacks"][stack].get("dependencies", []))

    def stack(self, name: str) -> dict[str, Any]:
        return self._stacks[name]

    @cached_property
    def _stacks(self) -> dict[str, dict[str, Any]]:
        return {
            name: json.loads(
                (self.root / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8")
            )
            for name in self.stack_names
        }

    def resources(self, stack: str) -> dict[tuple[str, str], Resource]:
        """``(type, construct path) -> Resource`` of one stack."""
        found = {}
        for resource_type, resources in self.stack(stack).get("resource", {}).items():
            for name, body in resources.items():
                path = body.get(METADATA_KEY, {}).get("metadata", {}).get("path", name)
                path = path.removeprefix(f"{stack}/")
                found[(resource_type, path)] = Resource(stack, resource_type, path, body)
        return found

    def counts(self, stack: str) -> Counter[str]:
        return Counter(resource_type for resource_type, _ in self.resources(stack))

    def environments(self) -> dict[str, list[str]]:
        """Stacks grouped by environment (``kreo-<env>-<layer>``), its account's bootstrap
        first, in deployment order; those of no environment (``kreo-github``) under
        ``account``."""
        order = {layer: index for index, layer in enumerate((*ACCOUNT_LAYERS, *ENVIRONMENT_LAYERS))}
        groups: dict[str, list[str]] = {}
        for name in self.stack_names:
            parts = name.split("-", 2)
            environment = parts[1] if len(parts) == 3 else "account"
            groups.setdefault(environment, []).append(name)
        for names in groups.values():
            names.sort(key=lambda n: order.get(n.split("-", 2)[-1], len(order)))
        return dict(sorted(groups.items(), key=lambda item: item[0] != "account"))
