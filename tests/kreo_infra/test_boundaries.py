"""The package seams: layer packages meet only through published outputs and shared
building blocks, config is data, and stacks hand each other outputs, not stacks."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "constructs" / "kreo_infra"

LAYER_PACKAGES = frozenset(
    {
        "network",
        "edge",
        "cluster",
        "data",
        "platform",
        "marketplace",
        "backup",
        "observability",
        "delivery",
    }
)
"""The packages of one layer's constructs (the bootstrap's are ``delivery``)."""

BUILDING_BLOCKS = frozenset(
    {"aws", "errors", "tags", "config", "security", "storage", "alerting", "workloads"}
)
"""What any layer may import: none of them imports a layer package."""


def _imports(path: Path, package: tuple[str, ...] = ()) -> set[str]:
    """The kreo_infra top-level names (packages or modules) ``path`` imports: absolute
    and relative imports (``package``: the dotted package of ``path`` below
    kreo_infra), ``from kreo_infra import x``, and ``importlib.import_module`` /
    ``__import__`` of a literal name."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ("kreo_infra", *package[: len(package) - node.level + 1])
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.append(module)
            if module == "kreo_infra":
                names.extend(f"kreo_infra.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == "kreo_infra" and len(parts) > 1:
            found.add(parts[1])
    return found


def _package_of(path: Path) -> tuple[str, ...]:
    """The dotted package of a module below kreo_infra (``("data",)`` for data/tier.py)."""
    parts = path.relative_to(SOURCE).parts
    return tuple(parts[:-1])


def _modules(package: str) -> list[Path]:
    root = SOURCE / package
    return sorted(root.rglob("*.py")) if root.is_dir() else [SOURCE / f"{package}.py"]


def _crossings(packages: frozenset[str], allowed: frozenset[str]) -> list[str]:
    return [
        f"{path.relative_to(SOURCE)} imports kreo_infra.{imported}"
        for package in sorted(packages)
        for path in _modules(package)
        for imported in sorted(_imports(path, _package_of(path)) - allowed - {package})
    ]


def test_layer_packages_import_only_building_blocks() -> None:
    """A layer reads another layer only through the outputs the stacks pass it."""
    assert _crossings(LAYER_PACKAGES, BUILDING_BLOCKS) == []


def test_building_blocks_import_no_layer() -> None:
    assert _crossings(BUILDING_BLOCKS, BUILDING_BLOCKS) == []


def test_config_imports_nothing_of_the_project_but_errors() -> None:
    assert _crossings(frozenset({"config"}), frozenset({"errors"})) == []


def test_every_package_is_classified() -> None:
    """A new package must say what it is: a layer's, a building block, or wiring/tooling."""
    wiring_and_tools = {
        "app",
        "layers",
        "stacks",
        "aspects",
        "lazy_providers",
        "policy",
        "preflight",
        "recovery",
        "review",
        "tfcheck",
    }
    packages = {
        p.stem
        for p in SOURCE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
    }
    packages.discard("__init__")
    assert packages - LAYER_PACKAGES - BUILDING_BLOCKS - wiring_and_tools == set()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from kreo_infra.data.storage import MediaStorage\n", {"data"}),
        ("import kreo_infra.edge.cdn\n", {"edge"}),
        ("from kreo_infra import edge, errors\n", {"edge", "errors"}),
        ("from . import sibling\n", {"observability"}),
        ("from ..edge.cdn import S3Distribution\n", {"edge"}),
        ("import importlib\nimportlib.import_module('kreo_infra.edge.cdn')\n", {"edge"}),
        ("__import__('kreo_infra.cluster')\n", {"cluster"}),
    ],
)
def test_import_scan_finds_project_imports(tmp_path: Path, source: str, expected: set[str]) -> None:
    """The scan the seam tests rest on sees every form of import (a module of the
    ``observability`` package: relative imports resolve against it)."""
    module = tmp_path / "module.py"
    module.write_text(source, encoding="utf-8")
    assert _imports(module, ("observability",)) == expected


def test_a_crossing_is_reported() -> None:
    """The seam check bites: the edge package seen as a layer that may not read storage."""
    assert any(
        "imports kreo_infra.storage" in crossing
        for crossing in _crossings(frozenset({"edge"}), frozenset({"errors", "security", "aws"}))
    )


def test_stacks_take_outputs_not_stacks(providers: None) -> None:
    """Every stack's inputs are published outputs (kreo_infra.stacks.outputs); a stack
    that only orders itself after another takes it as a plain ``TerraformStack``."""
    import kreo_infra.stacks as stacks
    from kreo_infra.stacks.kreo_stack import KreoStack

    stack_classes = {name for name, value in vars(stacks).items() if isinstance(value, type)} | {
        cls.__name__ for cls in KreoStack.__subclasses__()
    }
    offending = [
        f"{cls.__name__}({parameter.name}: {parameter.annotation})"
        for cls in KreoStack.__subclasses__()
        for parameter in inspect.signature(cls.__init__).parameters.values()
        if any(name in str(parameter.annotation) for name in stack_classes)
    ]
    assert offending == []
