"""make diagram: an SVG per environment with every stack and its dependencies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, Synthesis


@pytest.fixture(scope="module")
def diagrams(synthesis: Synthesis, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kreo_infra.review.diagram import main

    out = tmp_path_factory.mktemp("diagrams")
    messages: list[str] = []
    assert main([str(synthesis.outdir), "--out", str(out)], progress=messages.append) == 0
    for config in synthesis.configs:  # progress, per environment
        assert any(m.startswith(f"{config.name}: {config.stack_prefix}-") for m in messages)
    return out


def test_every_stack_and_dependency_is_drawn(synthesis: Synthesis, diagrams: Path) -> None:
    import json

    manifest = json.loads((synthesis.outdir / "manifest.json").read_text())
    for config in synthesis.configs:
        svg = (diagrams / f"architecture-{config.name}.svg").read_text()
        stacks = set(re.findall(r'id="stack:([^"]+)"', svg))
        expected = {"kreo-github"} | {
            s for s in synthesis.stack_names if s.startswith(f"{config.stack_prefix}-")
        }
        assert stacks == expected
        edges = set(re.findall(r'id="depends:([^"]+)"', svg.replace("&gt;", ">")))
        assert edges == {
            f"{stack}->{dependency}"
            for stack in expected
            for dependency in manifest["stacks"][stack].get("dependencies", [])
        }
        assert edges
        for stack in expected:
            assert f">{stack}<" in svg  # the stack's name is text, not paths


def test_diagram_names_the_main_resources(
    synthesis: Synthesis, diagrams: Path, env_name: str
) -> None:
    svg = (diagrams / f"architecture-{env_name}.svg").read_text()
    for label in ("EKS cluster", "ElastiCache Valkey", "OpenSearch domain"):
        assert label in svg
    # The CDN as the edge stack makes it: a recovery environment makes none (it keeps
    # the recovered environment's distributions), and the diagram shows none.
    edge = f"{synthesis.environment(env_name).stack_prefix}-edge"
    distributions = len(synthesis.resources(edge, "aws_cloudfront_distribution"))
    if distributions:
        assert f"{distributions} x CloudFront distribution" in svg
    else:
        assert "CloudFront distribution" not in svg


def test_committed_diagrams_are_current(diagrams: Path, env_name: str) -> None:
    committed = PROJECT_ROOT / "docs" / f"architecture-{env_name}.svg"
    assert committed.read_bytes() == (diagrams / committed.name).read_bytes(), (
        "run `make diagram` and commit docs/architecture-*.svg"
    )
    assert f"docs/architecture-{env_name}.svg" in (PROJECT_ROOT / "README.md").read_text()
