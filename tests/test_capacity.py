"""Capacity: every workload fits on the node groups, at the minimum and at the maximum.

The model (tests/runtime/capacity.py) reads the session's synthesis: node groups
and add-ons from ``kreo-<env>-cluster``, the platform's Helm releases, the
marketplace chart rendered with the app stack's values; upstream defaults come
from tests/runtime/upstream.yaml, whose rows must be for the pinned versions.
``python -m tests.runtime.capacity`` prints the same tables.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import ENVIRONMENT_NAMES, PROJECT_ROOT, Synthesis
from tests.runtime.capacity import (
    CASES,
    Case,
    Container,
    Environment,
    NodeGroup,
    Workload,
    check,
    cpu_millicores,
    docs_row,
    environment,
    fit_table,
    load_upstream,
    memory_mib,
    missing_requests,
    with_node_groups,
    workload_from_row,
    workload_table,
)


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    return load_upstream()


@pytest.fixture(scope="module")
def environments(synthesis: Synthesis, upstream: dict[str, Any]) -> dict[str, Environment]:
    return {env: environment(synthesis.stack, env, upstream) for env in ENVIRONMENT_NAMES}


# --- the fit -------------------------------------------------------------------------------------

ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"


def test_architecture_documents_the_fit(environments: dict[str, Environment]) -> None:
    """docs/architecture.md shows what the model computes (regenerate the rows with
    ``make capacity``: it prints them after the tables)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert sorted(environments) == sorted(ENVIRONMENT_NAMES)
    for env in environments:
        for case in CASES:
            row = docs_row(check(environments[env], case))
            assert row in text, f"docs/architecture.md, Capacity: expected\n{row}"


@pytest.mark.parametrize("case", CASES)
def test_workloads_fit_the_node_groups(
    environments: dict[str, Environment], env_name: str, case: Case
) -> None:
    """``min``: every workload at its minimum on every group at ``min_size``; ``max``:
    every workload at its maximum, every service mid-rollout, on every group at ``max_size``."""
    fit = check(environments[env_name], case)
    assert fit.fits, f"\n{fit_table([fit])}\n\n{workload_table(environments[env_name])}"


def test_every_release_and_addon_is_modelled(environments: dict[str, Environment]) -> None:
    """Every helm_release and aws_eks_addon has an upstream.yaml row at its version
    (or is a local chart that renders)."""
    assert {env: e.problems for env, e in environments.items() if e.problems} == {}


def test_platform_pods_request_cpu_and_memory(environments: dict[str, Environment]) -> None:
    """Every container the platform charts run requests CPU and memory, from our values
    or the chart's defaults: a pod without requests is invisible to the scheduler's
    arithmetic (and to this model), and the first to be evicted under pressure."""
    missing = {env: missing_requests(e, "chart ") for env, e in environments.items()}
    assert {env: items for env, items in missing.items() if items} == {}


def test_app_workloads_are_read_from_the_rendered_chart(
    environments: dict[str, Environment], configs: list[EnvironmentConfig]
) -> None:
    for config in configs:
        app = {w.name: w for w in environments[config.name].workloads if w.origin == "app"}
        assert set(app) == set(config.services)
        for name, service in config.services.items():
            workload = app[name]
            assert (workload.min_replicas, workload.max_replicas) == (
                service.autoscaling.min_replicas,
                service.autoscaling.max_replicas,
            )
            assert workload.cpu == cpu_millicores(service.requests.cpu)
            assert workload.memory == memory_mib(service.requests.memory)
            assert workload.spread == "hard"
            assert workload.surge >= 1  # maxSurge 25 %, rounded up


def test_node_group_subnets_resolve_to_zone_ids(
    environments: dict[str, Environment], configs: list[EnvironmentConfig]
) -> None:
    """Each subnet reference is followed through the network stack to its zone id."""
    for config in configs:
        groups = environments[config.name].node_groups
        zones = [zone for group in groups for zone in group.zones]
        assert set(zones) == set(config.network.availability_zone_ids), zones


# --- upstream.yaml -------------------------------------------------------------------------------


def test_pinned_versions_match_their_upstream_rows(
    configs: list[EnvironmentConfig], upstream: dict[str, Any]
) -> None:
    """A pin that moves fails here until its upstream.yaml row is re-read at the new tag."""
    stale = set()
    for config in configs:
        for name, chart in config.platform.charts.items():
            row = upstream["charts"].get(name)
            if row is None or str(row["version"]) != chart.version:
                stale.add(f"chart {name}: pinned {chart.version}, row {row and row['version']}")
        for name, version in config.cluster.addons.items():
            row = upstream["addons"].get(name)
            if row is None or str(row["version"]) != version:
                stale.add(f"add-on {name}: pinned {version}, row {row and row['version']}")
    assert sorted(stale) == []


def _rows(upstream: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{section}/{name}", entry)
        for section in ("charts", "addons")
        for name, entry in upstream[section].items()
    ]


def test_every_upstream_row_says_where_it_was_read(upstream: dict[str, Any]) -> None:
    problems = []
    for name, entry in _rows(upstream):
        if not entry.get("version") or not entry.get("source", {}).get("repository"):
            problems.append(f"{name}: version and source.repository")
        for row in entry["workloads"]:
            where = f"{name}/{row.get('name')}"
            read_from = row.get("read_from") or {}
            if not (read_from.get("repository") and read_from.get("tag")):
                problems.append(f"{where}: read_from.repository and .tag")
            if not isinstance(read_from.get("files"), list):
                problems.append(f"{where}: read_from.files")
            if not read_from.get("files") and not row.get("estimate"):
                problems.append(f"{where}: no file read, so mark it estimate")
            if row.get("estimate") and not row.get("note"):
                problems.append(f"{where}: an estimate needs a note")
            if row.get("schedules") is False and not row.get("why"):
                problems.append(f"{where}: schedules: false needs why")
            if row.get("kind") not in ("DaemonSet", "Deployment", "StatefulSet"):
                problems.append(f"{where}: kind")
            if (row.get("kind") == "DaemonSet") != (row.get("replicas") is None):
                problems.append(f"{where}: replicas null exactly for DaemonSets")
            for container in [*row["containers"], *row.get("init_containers", [])]:
                if not container.get("name") or not container.get("resources_key"):
                    problems.append(f"{where}: container name and resources_key")
                for resource in ("cpu", "memory"):
                    value = container.get(resource, "absent")
                    if value is not None and not isinstance(value, int):
                        problems.append(f"{where}/{container.get('name')}: {resource}")
    assert problems == []


def test_upstream_daemonsets_add_up_to_the_issue(upstream: dict[str, Any]) -> None:
    """With nothing configured, the DaemonSets request 480m and 273Mi per node in
    7 pods: kube-proxy 100m, aws-node 50m (two 25m containers), cloudwatch-agent
    250m/128Mi, fluent-bit 50m/25Mi, ebs-csi-node 3 x 10m/40Mi, pod identity
    agent and node exporter nothing (issue 17: "~435-480m per node")."""
    daemonsets = [
        workload
        for _, entry in _rows(upstream)
        for row in entry["workloads"]
        if (workload := workload_from_row(row, {}, "upstream")) is not None
        and workload.kind == "DaemonSet"
        and workload.schedules
    ]
    assert sorted(w.name for w in daemonsets) == [
        "aws-node", "cloudwatch-agent", "ebs-csi-node", "eks-pod-identity-agent",
        "fluent-bit", "kube-proxy", "prometheus-node-exporter",
    ]  # fmt: skip
    assert sum(w.cpu for w in daemonsets) == 480
    assert sum(w.memory for w in daemonsets) == 273


def test_our_values_override_upstream_field_by_field() -> None:
    row = {
        "name": "x",
        "kind": "Deployment",
        "replicas": 1,
        "replicas_key": "replicaCount",
        "containers": [
            {"name": "main", "cpu": 100, "memory": 200, "resources_key": ["resources"]},
            {"name": "side", "cpu": None, "memory": None,
             "resources_key": ["side.resources", "resources"]},
        ],
    }  # fmt: skip
    values = {"replicaCount": 3, "resources": {"requests": {"memory": "1Gi"}}}
    workload = workload_from_row(row, values, "chart x 1")
    assert workload is not None
    assert workload.min_replicas == workload.max_replicas == 3
    # main: our memory, the chart's cpu; side: falls back to the pod's block.
    assert workload.containers == (Container("main", 100, 1024), Container("side", None, 1024))
    limits_only = workload_from_row(row, {"resources": {"limits": {"cpu": "2"}}}, "chart x 1")
    assert limits_only is not None
    assert limits_only.containers[0] == Container("main", 2000, 200)
    off = {**row, "enabled_key": "enabled", "enabled": True}
    assert workload_from_row(off, {"enabled": "false"}, "add-on x") is None


# --- the model bites -----------------------------------------------------------------------------


def test_ample_nodes_fit(synthesis: Synthesis, upstream: dict[str, Any], env_name: str) -> None:
    """The model can also say yes: ten m7i.2xlarge per zone hold everything (and no:
    tests/test_seed.py, the seed's t3.medium nodes)."""
    load = with_node_groups(
        synthesis.stack, env_name, instance_types=["m7i.2xlarge"], min_size=10, max_size=10,
        zonal=True,
    )  # fmt: skip
    ample = environment(load, env_name, upstream)
    zones = synthesis.environment(env_name).network.availability_zone_ids
    assert len(ample.node_groups) == len(zones)
    for case in CASES:
        fit = check(ample, case)
        assert fit.fits, fit_table([fit])


def _service(replicas: int, spread: Literal["hard", "soft"] = "hard") -> Workload:
    return Workload(
        name="svc", origin="app", kind="Deployment", min_replicas=replicas,
        max_replicas=replicas, containers=(Container("c", 500, 512),), spread=spread,
    )  # fmt: skip


def _zones(*types: str) -> list[NodeGroup]:
    return [NodeGroup(f"g{i}", (name,), (f"z{i}",), 1, 1) for i, name in enumerate(types)]


def test_a_hard_zone_spread_bites_where_a_soft_one_does_not() -> None:
    """Two zones of 7 x 500m and one of 3: twelve replicas need four per zone."""
    groups = _zones("m7i.xlarge", "m7i.xlarge", "t3.medium")
    assert check(Environment("t", groups, [_service(9)]), "min").fits
    hard = check(Environment("t", groups, [_service(12)]), "min")
    assert hard.unplaced == ["svc (app): 1 of 12 pods (500m, 512Mi each)"]
    soft = check(Environment("t", groups, [_service(12, "soft")]), "min")
    assert soft.fits
    assert soft.off_balance == ["svc -> z0"]


def test_pods_memory_and_daemonsets_bite() -> None:
    tiny = Workload("tiny", "chart t 1", "Deployment", 18, 18, (Container("c", 0, 0),))
    assert check(Environment("t", _zones("t3.medium"), [tiny]), "min").unplaced == [
        "tiny (chart t 1): 1 of 18 pods (0m, 0Mi each)"
    ]
    big = Workload("big", "chart t 1", "StatefulSet", 1, 1, (Container("c", 100, 7000),))
    assert not check(Environment("t", _zones("m7i.large"), [big]), "min").fits
    heavy = Workload("heavy", "add-on t", "DaemonSet", 0, 0, (Container("c", 2000, 10),))
    fit = check(Environment("t", _zones("t3.medium"), [heavy]), "max")
    assert not fit.fits
    assert "DaemonSets (2000m, 10Mi, 1 pods) exceed node" in fit.unplaced[0]


def test_quantities() -> None:
    cpus = ("500m", "1", "0.25", 2, "1.5")
    assert [cpu_millicores(v) for v in cpus] == [500, 1000, 250, 2000, 1500]
    memories = ("512Mi", "1Gi", "128M", "64Ki", 1048576)
    assert [memory_mib(v) for v in memories] == [512, 1024, 123, 1, 1]
