"""The local charts as their releases install them, rendered once per session.

Values, release name and namespace are read from the synthesized ``helm_release``
(the stacks' exact values), and each (chart, values, name, namespace) is
rendered once with helm-python-sdk however many tests read it: the chart
tests, the policy scan, the runtime rules. Callers get their own copy of the
documents, so a test that edits one cannot change what another reads.
"""

from __future__ import annotations

import copy
import json
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from tests.conftest import Synthesis

CHARTS_DIR = Path(__file__).resolve().parent.parent / "charts"
RENDER_SECONDS = [0.0]
"""Time spent rendering, for the suite's ``kreo-timings`` line."""
LOCAL_CHARTS = {"kreo-marketplace": "app", "kreo-platform": "platform"}
"""Each local chart and the layer whose stack installs it."""


def release(synthesis: Synthesis, env: str, chart: str) -> dict[str, Any]:
    """The ``helm_release`` of local chart ``chart`` in environment ``env``."""
    prefix = synthesis.environment(env).stack_prefix
    (body,) = [
        body
        for body in synthesis.resources(f"{prefix}-{LOCAL_CHARTS[chart]}", "helm_release").values()
        if body["name"] == chart
    ]
    return body


def values(synthesis: Synthesis, env: str, chart: str) -> dict[str, Any]:
    """The values the stack passes to ``chart`` (one YAML document)."""
    (document,) = release(synthesis, env, chart)["values"]
    return yaml.safe_load(document)


def render_files(
    chart_dir: Path, chart_values: dict[str, Any], *, name: str, namespace: str
) -> dict[str, str]:
    """``template path -> rendered text`` (a copy of the session's one render)."""
    canonical = json.dumps(chart_values, sort_keys=True)
    return dict(_render(str(chart_dir), canonical, name, namespace))


@cache
def _render(
    chart_dir: str, canonical: str, name: str, namespace: str
) -> tuple[tuple[str, str], ...]:
    from helm_python import Chart

    start = time.perf_counter()
    files = Chart.load(chart_dir).render(json.loads(canonical), name=name, namespace=namespace)
    RENDER_SECONDS[0] += time.perf_counter() - start
    return tuple(sorted(files.items()))


@cache
def _documents(chart_dir: str, canonical: str, name: str, namespace: str) -> tuple[Any, ...]:
    files = _render(chart_dir, canonical, name, namespace)
    return tuple(
        document
        for path, text in files
        if is_manifest(path)
        for document in yaml.safe_load_all(text)
        if document
    )


def is_manifest(path: str) -> bool:
    """A rendered template that holds objects (not ``NOTES.txt``)."""
    return path.endswith((".yaml", ".yml"))


def render_documents(
    chart_dir: Path, chart_values: dict[str, Any], *, name: str, namespace: str
) -> list[dict[str, Any]]:
    """The rendered YAML documents of a chart (``NOTES.txt`` and the like left out)."""
    canonical = json.dumps(chart_values, sort_keys=True)
    return copy.deepcopy(list(_documents(str(chart_dir), canonical, name, namespace)))


def _release_inputs(synthesis: Synthesis, env: str, chart: str) -> dict[str, Any]:
    body = release(synthesis, env, chart)
    return {
        "chart_dir": CHARTS_DIR / chart,
        "chart_values": values(synthesis, env, chart),
        "name": body["name"],
        "namespace": body["namespace"],
    }


def installed(synthesis: Synthesis, env: str, chart: str) -> list[dict[str, Any]]:
    """The documents of local chart ``chart`` as environment ``env``'s release renders it."""
    return render_documents(**_release_inputs(synthesis, env, chart))


def installed_text(synthesis: Synthesis, env: str, chart: str) -> str:
    """The rendered manifests of ``chart`` for ``env`` as one YAML stream (for checkov)."""
    files = render_files(**_release_inputs(synthesis, env, chart))
    return "\n---\n".join(text for path, text in files.items() if is_manifest(path))
