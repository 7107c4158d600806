"""Capacity model: do the synthesized workloads fit on the synthesized nodes?

Inputs, all from the synthesized stacks of one environment:

* nodes: every ``aws_eks_node_group`` of ``kreo-<env>-cluster``, its instance
  types (the smallest one counts), ``scaling_config`` and subnets. Each subnet
  is resolved through the network stack's outputs to its zone id; a group over
  *k* subnets spreads its nodes evenly over *k* zones (the Auto Scaling group
  balances zones), a group with one subnet is one zone. Per node allocatable
  CPU, memory and pods come from :mod:`kreo_infra.config.instance_types`.
* platform workloads: the ``helm_release`` resources of ``kreo-<env>-platform``;
  each release's pods, replicas and requests are read from its ``values`` where
  they are set and from ``tests/runtime/upstream.yaml`` (the pinned chart's
  defaults) where not. Helm merges our values into the chart's field by field,
  so a request our block leaves out keeps the upstream default; a container
  with limits and no requests requests its limits (Kubernetes' defaulting).
  Local charts (``charts/<release>``) are rendered instead.
* add-on workloads: every ``aws_eks_addon`` of the cluster stack, from
  upstream.yaml, with its ``configuration_values`` applied the same way.
* app workloads: ``charts/kreo-marketplace`` rendered (helm-python) with the app
  stack's values: each Deployment's container requests, its HPA min/max, its
  rolling-update ``maxSurge`` and its zone topology spread. Hook Jobs are left
  out (short-lived).

The model: every DaemonSet pod lands on every node, so its requests come off
each node's allocatable (and its pod off the node's max pods). Every other
workload's replicas are then placed largest first (first-fit decreasing): each
pod goes to a zone that keeps its workload's zone skew within ``maxSkew`` (1),
preferring the zone with fewest of its replicas and then the most free CPU, and
there onto the first node with room for its CPU, memory and one more pod.
A *hard* spread (``whenUnsatisfiable: DoNotSchedule`` on
``topology.kubernetes.io/zone``, the marketplace services) leaves the pod
unplaced when no allowed zone has room; a *soft* one (every chart and add-on:
no constraint, the scheduler's defaults only prefer spreading) falls back to
any zone. First-fit decreasing packs better than the scheduler, which places
pods one at a time as they come: a fit here is necessary, not sufficient, so
read the utilisation too.

Two cases per environment:

* ``min``: every workload at its minimum (HPA ``minReplicas``, else its
  replicas) on every node group at ``min_size``: day one, before Cluster
  Autoscaler adds anything;
* ``max``: every workload at its maximum plus the rollout surge of every app
  Deployment at once (one Helm upgrade rolls every service) on every node group
  at ``max_size``.

Requests nobody sets (null in upstream.yaml and unset in our values) count as
zero, which makes a fit optimistic; :func:`missing_requests` lists them.

``python -m tests.runtime.capacity`` prints the tables for ``cdktf.out/``
(``make synth``); ``--synth`` synthesizes first, as the test session does.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from kreo_infra.config.instance_types import INSTANCE_TYPES, InstanceType

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_FILE = Path(__file__).with_name("upstream.yaml")
CHARTS_DIR = PROJECT_ROOT / "charts"
ZONE_KEY = "topology.kubernetes.io/zone"

Case = Literal["min", "max"]
CASES: tuple[Case, ...] = ("min", "max")
StackLoader = Callable[[str], dict[str, Any]]
"""``load(stack_name)`` -> the stack's synthesized JSON (``Synthesis.stack`` is one)."""


class CapacityError(Exception):
    """The inputs cannot be modelled (an unknown instance type, a missing stack)."""


# --- quantities ----------------------------------------------------------------------------------

_MEMORY_UNITS = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}


def cpu_millicores(value: str | int | float) -> int:
    """A Kubernetes CPU quantity (``500m``, ``1``, ``0.5``) in millicores, rounded up."""
    text = str(value).strip()
    if text.endswith("m"):
        return math.ceil(float(text[:-1]))
    return math.ceil(float(text) * 1000)


def memory_mib(value: str | int | float) -> int:
    """A Kubernetes memory quantity (``512Mi``, ``1Gi``, ``128M``, bytes) in MiB, rounded up."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text)
    if not match or (match.group(2) and match.group(2) not in _MEMORY_UNITS):
        raise CapacityError(f"not a memory quantity: {value!r}")
    number, unit = float(match.group(1)), match.group(2)
    return math.ceil(number * _MEMORY_UNITS.get(unit, 1) / 2**20)


# --- values --------------------------------------------------------------------------------------

_MISSING = object()


def dig(values: Mapping[str, Any] | None, path: str) -> Any:
    """The value at dotted ``path`` in ``values``, or ``_MISSING``."""
    node: Any = values or {}
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base`` map by map, as Helm coalesces values files."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def release_values(release: Mapping[str, Any]) -> dict[str, Any]:
    """The values a ``helm_release`` passes: its ``values`` documents merged in order,
    then its ``set`` entries (dotted names)."""
    merged: dict[str, Any] = {}
    for document in release.get("values") or []:
        merged = deep_merge(merged, yaml.safe_load(document) or {})
    for entry in release.get("set") or []:
        node = merged
        *parents, last = entry["name"].split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = entry.get("value")
    return merged


def _truthy(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def load_upstream(path: Path = UPSTREAM_FILE) -> dict[str, Any]:
    """tests/runtime/upstream.yaml: the pinned charts' and add-ons' defaults."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- workloads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """One container's requests: millicores and MiB, ``None`` where nothing requests any."""

    name: str
    cpu: int | None
    memory: int | None


@dataclass(frozen=True)
class Workload:
    """A set of identical pods and how many of them run."""

    name: str
    origin: str
    """Where it comes from: ``chart <name> <version>``, ``add-on <name> <version>``, ``app``."""
    kind: str
    min_replicas: int
    max_replicas: int
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...] = ()
    surge: int = 0
    """Extra pods while a rollout runs (app Deployments; counted in the max case)."""
    spread: Literal["hard", "soft"] = "soft"
    max_skew: int = 1
    schedules: bool = True
    note: str = ""

    @property
    def cpu(self) -> int:
        """The pod's effective CPU request: max(sum of containers, largest init container)."""
        running = sum(c.cpu or 0 for c in self.containers)
        return max([running, *(c.cpu or 0 for c in self.init_containers)])

    @property
    def memory(self) -> int:
        running = sum(c.memory or 0 for c in self.containers)
        return max([running, *(c.memory or 0 for c in self.init_containers)])

    def missing(self) -> list[str]:
        """``<container>: cpu, memory`` for every running container lacking a request."""
        found = []
        for container in self.containers:
            lacking = [
                resource for resource in ("cpu", "memory") if getattr(container, resource) is None
            ]
            if lacking:
                found.append(f"{container.name}: {', '.join(lacking)}")
        return found

    def replicas(self, case: Case) -> int:
        return self.min_replicas if case == "min" else self.max_replicas + self.surge


def _requests_from_block(block: Any) -> tuple[int | None, int | None]:
    """(cpu, memory) a ``resources`` block requests; limits stand in for missing requests."""
    if not isinstance(block, Mapping):
        return None, None
    requests = block.get("requests") or {}
    limits = block.get("limits") or {}
    cpu = requests.get("cpu", limits.get("cpu"))
    memory = requests.get("memory", limits.get("memory"))
    return (
        None if cpu in (None, "") else cpu_millicores(cpu),
        None if memory in (None, "") else memory_mib(memory),
    )


def _container_from_row(row: Mapping[str, Any], values: Mapping[str, Any]) -> Container:
    keys = row.get("resources_key") or []
    cpu, memory = row.get("cpu"), row.get("memory")
    for key in [keys] if isinstance(keys, str) else keys:
        block = dig(values, key)
        if isinstance(block, Mapping) and block:
            ours_cpu, ours_memory = _requests_from_block(block)
            cpu = cpu if ours_cpu is None else ours_cpu
            memory = memory if ours_memory is None else ours_memory
            break
    return Container(row["name"], cpu, memory)


def workload_from_row(
    row: Mapping[str, Any], values: Mapping[str, Any], origin: str
) -> Workload | None:
    """The workload an upstream.yaml row describes, with ``values`` applied; ``None`` if off."""
    if row.get("enabled_key"):
        enabled = dig(values, row["enabled_key"])
        if not _truthy(row.get("enabled", True) if enabled is _MISSING else enabled):
            return None
    replicas = row.get("replicas") or 0
    if row.get("replicas_key"):
        ours = dig(values, row["replicas_key"])
        if ours is not _MISSING and ours is not None:
            replicas = int(ours)
    note = row.get("why") or ("estimate: " + row["note"] if row.get("estimate") else "")
    return Workload(
        name=row["name"],
        origin=origin,
        kind=row["kind"],
        min_replicas=replicas,
        max_replicas=replicas,
        containers=tuple(_container_from_row(c, values) for c in row["containers"]),
        init_containers=tuple(
            _container_from_row(c, values) for c in row.get("init_containers") or []
        ),
        schedules=row.get("schedules", True),
        note=" ".join(note.split()),
    )


def _container_from_manifest(container: Mapping[str, Any]) -> Container:
    cpu, memory = _requests_from_block(container.get("resources"))
    return Container(container["name"], cpu, memory)


def _surge(deployment: Mapping[str, Any], replicas: int) -> int:
    """Pods a rolling update adds above ``replicas`` (Kubernetes rounds a percentage up)."""
    strategy = deployment["spec"].get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1]) / 100)
    return int(surge)


def is_hook(document: Mapping[str, Any]) -> bool:
    return "helm.sh/hook" in ((document.get("metadata") or {}).get("annotations") or {})


def manifest_workloads(documents: Iterable[Mapping[str, Any]], origin: str) -> list[Workload]:
    """Deployments, StatefulSets and DaemonSets of rendered manifests (hooks left out),
    sized by their HorizontalPodAutoscaler where one targets them."""
    documents = [d for d in documents if d and not is_hook(d)]
    autoscalers = {
        (d["spec"]["scaleTargetRef"]["kind"], d["spec"]["scaleTargetRef"]["name"]): d["spec"]
        for d in documents
        if d.get("kind") == "HorizontalPodAutoscaler"
    }
    found = []
    for document in documents:
        kind = document.get("kind")
        if kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        name = document["metadata"]["name"]
        pod = document["spec"]["template"]["spec"]
        hpa = autoscalers.get((kind, name))
        fixed = document["spec"].get("replicas", 1)
        low = hpa.get("minReplicas", 1) if hpa else fixed
        high = hpa["maxReplicas"] if hpa else fixed
        hard = [
            constraint
            for constraint in pod.get("topologySpreadConstraints") or []
            if constraint.get("topologyKey") == ZONE_KEY
            and constraint.get("whenUnsatisfiable") == "DoNotSchedule"
        ]
        found.append(
            Workload(
                name=name,
                origin=origin,
                kind=kind,
                min_replicas=0 if kind == "DaemonSet" else low,
                max_replicas=0 if kind == "DaemonSet" else high,
                containers=tuple(_container_from_manifest(c) for c in pod["containers"]),
                init_containers=tuple(
                    _container_from_manifest(c) for c in pod.get("initContainers") or []
                ),
                surge=_surge(document, high) if kind == "Deployment" else 0,
                spread="hard" if hard else "soft",
                max_skew=min((c.get("maxSkew", 1) for c in hard), default=1),
            )
        )
    return found


def render_chart(chart_dir: Path, values: Mapping[str, Any], name: str, namespace: str) -> list:
    """``chart_dir`` rendered with ``values`` (helm-python, once per session for equal
    inputs: tests/charts.py)."""
    from tests.charts import render_documents

    return render_documents(chart_dir, dict(values), name=name, namespace=namespace)


# --- node groups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeGroup:
    """One EKS managed node group: its instance types, zones and sizes."""

    name: str
    instance_types: tuple[str, ...]
    zones: tuple[str, ...]
    min_size: int
    max_size: int

    @property
    def instance(self) -> InstanceType:
        """The smallest of the group's types: the node Cluster Autoscaler may get."""
        unknown = [t for t in self.instance_types if t not in INSTANCE_TYPES]
        if unknown:
            raise CapacityError(
                f"node group {self.name}: {', '.join(unknown)} not in "
                "kreo_infra.config.instance_types.INSTANCE_TYPES"
            )
        return min(
            (INSTANCE_TYPES[t] for t in self.instance_types),
            key=lambda i: (i.allocatable_cpu_millicores, i.allocatable_memory_mib, i.max_pods),
        )

    def nodes_per_zone(self, case: Case) -> dict[str, int]:
        """The group's nodes per zone: ``min_size`` or ``max_size`` spread evenly over its zones."""
        total = self.min_size if case == "min" else self.max_size
        base, extra = divmod(total, len(self.zones))
        return {zone: base + (index < extra) for index, zone in enumerate(sorted(self.zones))}


_REMOTE_OUTPUT = re.compile(
    r"^\$\{data\.terraform_remote_state\.cross-stack-reference-input-(?P<stack>[\w-]+)"
    r"\.outputs\.(?P<output>[\w-]+)\}$"
)
_RESOURCE_REF = re.compile(r"^\$\{(?P<type>aws_subnet)\.(?P<id>[\w-]+)\.id\}$")


def subnet_zone(load: StackLoader, stack_name: str, reference: str) -> str:
    """The zone (id) of the subnet ``reference`` names, through the network stack's
    outputs; the reference itself where it cannot be resolved (still one zone per subnet)."""
    remote = _REMOTE_OUTPUT.match(reference)
    if remote:
        stack_name = remote["stack"]
        try:
            output = load(stack_name).get("output", {}).get(remote["output"], {})
        except (OSError, KeyError):
            return reference
        reference = str(output.get("value", reference))
    local = _RESOURCE_REF.match(reference)
    if local:
        try:
            subnet = load(stack_name)["resource"][local["type"]][local["id"]]
        except (OSError, KeyError):
            return reference
        return subnet.get("availability_zone_id") or subnet.get("availability_zone") or reference
    return reference


def node_groups(load: StackLoader, env: str) -> list[NodeGroup]:
    """Every ``aws_eks_node_group`` of ``kreo-<env>-cluster``."""
    stack_name = f"kreo-{env}-cluster"
    groups = []
    for body in load(stack_name).get("resource", {}).get("aws_eks_node_group", {}).values():
        scaling = body["scaling_config"]
        scaling = scaling[0] if isinstance(scaling, list) else scaling
        zones = tuple(dict.fromkeys(subnet_zone(load, stack_name, s) for s in body["subnet_ids"]))
        groups.append(
            NodeGroup(
                name=body.get("node_group_name") or body["//"]["metadata"]["path"],
                instance_types=tuple(body["instance_types"]),
                zones=zones,
                min_size=int(scaling["min_size"]),
                max_size=int(scaling["max_size"]),
            )
        )
    return sorted(groups, key=lambda g: g.name)


# --- one environment -----------------------------------------------------------------------------


@dataclass
class Environment:
    """What runs in one environment and on which nodes."""

    name: str
    node_groups: list[NodeGroup]
    workloads: list[Workload]
    problems: list[str] = field(default_factory=list)
    """Inputs the model could not account for (no upstream row, a version that moved)."""

    @property
    def daemonsets(self) -> list[Workload]:
        return [w for w in self.workloads if w.kind == "DaemonSet" and w.schedules]


def platform_workloads(
    load: StackLoader, env: str, upstream: Mapping[str, Any]
) -> tuple[list[Workload], list[str]]:
    """The workloads of every ``helm_release`` in ``kreo-<env>-platform``, and problems."""
    workloads: list[Workload] = []
    problems: list[str] = []
    releases = load(f"kreo-{env}-platform").get("resource", {}).get("helm_release", {})
    for release in releases.values():
        chart, name = release["chart"], release["name"]
        values = release_values(release)
        row = upstream["charts"].get(chart)
        if row is None:
            local = CHARTS_DIR / name
            if not local.is_dir():
                problems.append(f"chart {chart} (release {name}): no row in upstream.yaml")
                continue
            try:
                documents = render_chart(local, values, name, release.get("namespace", "default"))
            except Exception as error:  # helm-python raises its own types; report any
                problems.append(f"local chart {name} does not render: {error}")
                continue
            workloads += manifest_workloads(documents, f"chart {name} (local)")
            continue
        version = str(release.get("version"))
        if version != str(row["version"]):
            problems.append(
                f"chart {chart}: released at {version}, upstream.yaml row is for {row['version']}"
            )
        origin = f"chart {chart} {version}"
        for workload_row in row["workloads"]:
            workload = workload_from_row(workload_row, values, origin)
            if workload is not None:
                workloads.append(workload)
    return workloads, problems


def addon_workloads(
    load: StackLoader, env: str, upstream: Mapping[str, Any]
) -> tuple[list[Workload], list[str]]:
    """The workloads of every ``aws_eks_addon`` in ``kreo-<env>-cluster``, and problems."""
    workloads: list[Workload] = []
    problems: list[str] = []
    addons = load(f"kreo-{env}-cluster").get("resource", {}).get("aws_eks_addon", {})
    for addon in addons.values():
        name, version = addon["addon_name"], str(addon.get("addon_version"))
        row = upstream["addons"].get(name)
        if row is None:
            problems.append(f"add-on {name}: no row in upstream.yaml")
            continue
        if version != str(row["version"]):
            problems.append(
                f"add-on {name}: installed at {version}, upstream.yaml row is for {row['version']}"
            )
        try:
            values = json.loads(addon.get("configuration_values") or "{}")
        except json.JSONDecodeError:
            problems.append(f"add-on {name}: configuration_values is not JSON; defaults used")
            values = {}
        for workload_row in row["workloads"]:
            workload = workload_from_row(workload_row, values, f"add-on {name} {version}")
            if workload is not None:
                workloads.append(workload)
    return workloads, problems


def app_workloads(load: StackLoader, env: str) -> tuple[list[Workload], list[str]]:
    """The workloads of the app stack's local charts, rendered with its values."""
    workloads: list[Workload] = []
    problems: list[str] = []
    releases = load(f"kreo-{env}-app").get("resource", {}).get("helm_release", {})
    for release in releases.values():
        name = release["name"]
        chart = CHARTS_DIR / name
        if not chart.is_dir():
            problems.append(f"app release {name}: no local chart charts/{name}")
            continue
        documents = render_chart(
            chart, release_values(release), name, release.get("namespace", "default")
        )
        workloads += manifest_workloads(documents, "app")
    return workloads, problems


def environment(
    load: StackLoader, env: str, upstream: Mapping[str, Any] | None = None
) -> Environment:
    """The capacity inputs of ``env`` from its synthesized stacks."""
    upstream = upstream if upstream is not None else load_upstream()
    platform, platform_problems = platform_workloads(load, env, upstream)
    addons, addon_problems = addon_workloads(load, env, upstream)
    app, app_problems = app_workloads(load, env)
    return Environment(
        name=env,
        node_groups=node_groups(load, env),
        workloads=[*addons, *platform, *app],
        problems=[
            " ".join(p.split()) for p in (*addon_problems, *platform_problems, *app_problems)
        ],
    )


def missing_requests(env: Environment, origin_prefix: str = "chart ") -> list[str]:
    """``<origin>/<workload>/<container>: cpu, memory`` for every counted container of
    the workloads whose origin starts with ``origin_prefix`` that requests nothing."""
    return [
        f"{w.origin}/{w.name}/{item}"
        for w in env.workloads
        if w.schedules and w.origin.startswith(origin_prefix)
        for item in w.missing()
    ]


# --- the fit -------------------------------------------------------------------------------------


@dataclass
class Node:
    """One node and what is still free on it."""

    name: str
    zone: str
    instance: InstanceType
    cpu: int
    memory: int
    pods: int

    def room_for(self, workload: Workload) -> bool:
        return self.cpu >= workload.cpu and self.memory >= workload.memory and self.pods >= 1

    def take(self, workload: Workload) -> None:
        self.cpu -= workload.cpu
        self.memory -= workload.memory
        self.pods -= 1


@dataclass
class Fit:
    """One environment and case: the nodes, what they hold and what did not fit."""

    env: str
    case: Case
    zones: dict[str, int]
    instances: dict[str, int]
    """Instance type name -> node count."""
    daemonset_cpu: int
    daemonset_memory: int
    daemonset_pods: int
    requested_cpu: int
    requested_memory: int
    requested_pods: int
    allocatable_cpu: int
    allocatable_memory: int
    allocatable_pods: int
    unplaced: list[str] = field(default_factory=list)
    off_balance: list[str] = field(default_factory=list)
    """Soft-spread pods that landed outside a zone-balanced position."""
    problems: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.unplaced

    @property
    def nodes(self) -> int:
        return sum(self.zones.values())


def _build_nodes(env: Environment, case: Case) -> list[Node]:
    nodes = []
    for group in env.node_groups:
        instance = group.instance
        for zone, count in group.nodes_per_zone(case).items():
            nodes += [
                Node(
                    name=f"{group.name}/{zone}/{index}",
                    zone=zone,
                    instance=instance,
                    cpu=instance.allocatable_cpu_millicores,
                    memory=instance.allocatable_memory_mib,
                    pods=instance.max_pods,
                )
                for index in range(count)
            ]
    return nodes


def check(env: Environment, case: Case) -> Fit:
    """Place ``env``'s workloads at ``case`` replicas on its nodes at ``case`` size."""
    nodes = _build_nodes(env, case)
    daemonsets = env.daemonsets
    ds_cpu = sum(w.cpu for w in daemonsets)
    ds_memory = sum(w.memory for w in daemonsets)
    fit = Fit(
        env=env.name,
        case=case,
        zones=dict(sorted(Counter(n.zone for n in nodes).items())),
        instances=dict(sorted(Counter(n.instance.name for n in nodes).items())),
        daemonset_cpu=ds_cpu,
        daemonset_memory=ds_memory,
        daemonset_pods=len(daemonsets),
        requested_cpu=ds_cpu * len(nodes),
        requested_memory=ds_memory * len(nodes),
        requested_pods=len(daemonsets) * len(nodes),
        allocatable_cpu=sum(n.cpu for n in nodes),
        allocatable_memory=sum(n.memory for n in nodes),
        allocatable_pods=sum(n.pods for n in nodes),
        problems=list(env.problems),
    )
    for node in nodes:
        node.cpu -= ds_cpu
        node.memory -= ds_memory
        node.pods -= len(daemonsets)
        if min(node.cpu, node.memory, node.pods) < 0:
            fit.unplaced.append(
                f"DaemonSets ({ds_cpu}m, {ds_memory}Mi, {len(daemonsets)} pods) "
                f"exceed node {node.name} ({node.instance.name})"
            )
    pods = [
        (workload, index)
        for workload in env.workloads
        if workload.schedules and workload.kind != "DaemonSet"
        for index in range(workload.replicas(case))
    ]
    pods.sort(key=lambda p: (-p[0].cpu, -p[0].memory, p[0].origin, p[0].name, p[1]))
    by_zone: dict[str, list[Node]] = defaultdict(list)
    for node in nodes:
        by_zone[node.zone].append(node)
    domains = sorted(by_zone)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(domains, 0))
    unplaced: Counter[tuple[str, str, int, int]] = Counter()
    for workload, _ in pods:
        fit.requested_cpu += workload.cpu
        fit.requested_memory += workload.memory
        fit.requested_pods += 1
        placed = _place(workload, by_zone, counts[(workload.origin, workload.name)], fit)
        if not placed:
            unplaced[(workload.origin, workload.name, workload.cpu, workload.memory)] += 1
    wanted = {(w.origin, w.name): w.replicas(case) for w in env.workloads}
    fit.unplaced += [
        f"{name} ({origin}): {missing} of {wanted[(origin, name)]} pods ({cpu}m, {memory}Mi each)"
        for (origin, name, cpu, memory), missing in unplaced.items()
    ]
    return fit


def _place(
    workload: Workload, by_zone: Mapping[str, list[Node]], counts: dict[str, int], fit: Fit
) -> bool:
    """Put one pod of ``workload`` on a node; ``False`` if none may take it."""
    if not counts:
        return False
    lowest = min(counts.values())
    allowed = [z for z in counts if counts[z] + 1 - lowest <= workload.max_skew]

    def free_cpu(zone: str) -> int:
        return sum(n.cpu for n in by_zone[zone])

    def first_fit(zones: Sequence[str]) -> Node | None:
        for zone in zones:
            for node in by_zone[zone]:
                if node.room_for(workload):
                    return node
        return None

    node = first_fit(sorted(allowed, key=lambda z: (counts[z], -free_cpu(z), z)))
    if node is None and workload.spread == "soft":
        others = sorted((z for z in counts if z not in allowed), key=lambda z: (-free_cpu(z), z))
        node = first_fit(others)
        if node is not None:
            fit.off_balance.append(f"{workload.name} -> {node.zone}")
    if node is None:
        return False
    node.take(workload)
    counts[node.zone] += 1
    return True


def check_all(envs: Iterable[Environment]) -> list[Fit]:
    return [check(env, case) for env in envs for case in CASES]


# --- derived inputs (what-if; the tests' broken variants) ----------------------------------------


def with_node_groups(
    load: StackLoader,
    env: str,
    *,
    instance_types: Sequence[str],
    min_size: int,
    max_size: int,
    zonal: bool,
) -> StackLoader:
    """A loader whose ``kreo-<env>-cluster`` has its node groups replaced: one group per
    subnet the current groups use (``zonal``, sizes per zone) or one over all of them."""
    stack_name = f"kreo-{env}-cluster"
    stack = copy.deepcopy(load(stack_name))
    groups = stack.get("resource", {}).get("aws_eks_node_group") or {}
    if not groups:
        raise CapacityError(f"{stack_name} has no aws_eks_node_group to replace")
    template = next(iter(groups.values()))
    subnets = list(dict.fromkeys(s for g in groups.values() for s in g["subnet_ids"]))
    layout = {f"derived-{i}": [s] for i, s in enumerate(subnets)} if zonal else {"derived": subnets}
    stack["resource"]["aws_eks_node_group"] = {
        key: {
            **copy.deepcopy(template),
            "node_group_name": key,
            "instance_types": list(instance_types),
            "subnet_ids": group_subnets,
            "scaling_config": {
                "min_size": min_size,
                "desired_size": min_size,
                "max_size": max_size,
            },
        }
        for key, group_subnets in layout.items()
    }
    return lambda name: stack if name == stack_name else load(name)


def with_release_values(
    load: StackLoader, env: str, layer: str, release: str, values: Mapping[str, Any]
) -> StackLoader:
    """A loader whose ``kreo-<env>-<layer>`` passes ``values`` to ``release`` after its own."""
    stack_name = f"kreo-{env}-{layer}"
    stack = copy.deepcopy(load(stack_name))
    bodies = [
        body for body in stack["resource"]["helm_release"].values() if body["name"] == release
    ]
    if not bodies:
        raise CapacityError(f"{stack_name}: no helm_release named {release}")
    for body in bodies:
        body["values"] = [*(body.get("values") or []), yaml.safe_dump(dict(values))]
    return lambda name: stack if name == stack_name else load(name)


# --- report --------------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def fit_table(fits: Sequence[Fit]) -> str:
    """One line per environment and case, then what did not fit."""
    header = (
        "env", "case", "nodes per zone", "type", "allocatable/node", "DaemonSets/node",
        "CPU requested/allocatable", "memory requested/allocatable", "pods", "fits",
    )  # fmt: skip
    rows = [header]
    for fit in fits:
        per_node = sorted(
            {
                f"{INSTANCE_TYPES[name].allocatable_cpu_millicores}m "
                f"{INSTANCE_TYPES[name].allocatable_memory_mib}Mi "
                f"{INSTANCE_TYPES[name].max_pods}p"
                for name in fit.instances
            }
        )
        rows.append(
            (
                fit.env,
                fit.case,
                " ".join(f"{z}:{n}" for z, n in fit.zones.items()) + f" ={fit.nodes}",
                ",".join(fit.instances) or "-",
                " | ".join(per_node) or "-",
                f"{fit.daemonset_cpu}m {fit.daemonset_memory}Mi {fit.daemonset_pods}p",
                f"{fit.requested_cpu}m/{fit.allocatable_cpu}m "
                f"({_percent(fit.requested_cpu, fit.allocatable_cpu)})",
                f"{fit.requested_memory}Mi/{fit.allocatable_memory}Mi "
                f"({_percent(fit.requested_memory, fit.allocatable_memory)})",
                f"{fit.requested_pods}/{fit.allocatable_pods} "
                f"({_percent(fit.requested_pods, fit.allocatable_pods)})",
                "yes" if fit.fits else "NO",
            )
        )
    lines = _columns(rows)
    for fit in fits:
        lines += [f"  {fit.env} {fit.case}: did not fit: {item}" for item in fit.unplaced]
    problems = {f"  {fit.env}: not modelled: {item}": None for fit in fits for item in fit.problems}
    return "\n".join([*lines, *problems])


def workload_table(env: Environment) -> str:
    """The workloads the model counts, with their replicas and per-pod requests."""
    rows: list[Sequence[str]] = [
        ("workload", "from", "kind", "replicas min..max(+surge)", "cpu/pod", "memory/pod",
         "spread", "requests missing / note"),
    ]  # fmt: skip
    for w in sorted(env.workloads, key=lambda w: (w.kind != "DaemonSet", w.origin, w.name)):
        replicas = "per node" if w.kind == "DaemonSet" else f"{w.min_replicas}..{w.max_replicas}"
        if w.surge:
            replicas += f"(+{w.surge})"
        remark = "; ".join(w.missing())
        if not w.schedules:
            remark = f"not on our nodes: {w.note}"
        elif w.note:
            remark = f"{remark} [estimate]" if remark else "[estimate]"
        rows.append(
            (
                w.name, w.origin, w.kind, replicas, f"{w.cpu}m", f"{w.memory}Mi",
                f"{w.spread}/{w.max_skew}" if w.kind != "DaemonSet" else "-", remark,
            )
        )  # fmt: skip
    return "\n".join(_columns(rows))


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]  # fmt: skip


def report(envs: Sequence[Environment]) -> str:
    """The workload tables of ``envs`` and the fit table of both cases."""
    parts = []
    for env in envs:
        groups = ", ".join(
            f"{g.name} [{','.join(g.instance_types)}] {g.min_size}..{g.max_size} over "
            f"{len(g.zones)} zone(s)"
            for g in env.node_groups
        )
        parts.append(f"== {env.name}: node groups {groups}\n{workload_table(env)}")
    parts.append(fit_table(check_all(envs)))
    return "\n\n".join(parts)


# --- command line --------------------------------------------------------------------------------


def stack_dir_loader(outdir: Path) -> StackLoader:
    """A loader over a ``cdktf synth`` output directory (``cdktf.out``)."""
    cache: dict[str, dict[str, Any]] = {}

    def load(name: str) -> dict[str, Any]:
        if name not in cache:
            path = outdir / "stacks" / name / "cdk.tf.json"
            if not path.is_file():
                raise CapacityError(f"{path} does not exist (make synth?)")
            cache[name] = json.loads(path.read_text(encoding="utf-8"))
        return cache[name]

    return load


def _synthesize(outdir: Path) -> None:
    from kreo_infra import lazy_providers

    lazy_providers.install()
    from kreo_infra.app import build_app
    from kreo_infra.config import load_environments

    outdir.mkdir(parents=True, exist_ok=True)
    build_app(
        load_environments(PROJECT_ROOT / "config"), charts_dir=CHARTS_DIR, outdir=str(outdir)
    ).synth()


def docs_row(fit: Fit) -> str:
    """The line of docs/architecture.md's "Capacity" table for one environment and case."""
    per_zone = "/".join(map(str, sorted(set(fit.zones.values()))))
    cpu, memory = fit.requested_cpu, fit.requested_memory
    cells = (
        fit.env,
        {"min": "minimum", "max": "maximum, every service rolling"}[fit.case],
        f"{per_zone} per zone ({fit.nodes})",
        f"{cpu}m of {fit.allocatable_cpu}m ({_percent(cpu, fit.allocatable_cpu)})",
        f"{memory}Mi of {fit.allocatable_memory}Mi ({_percent(memory, fit.allocatable_memory)})",
        f"{fit.requested_pods} of {fit.allocatable_pods}",
        "yes" if fit.fits else "no",
    )
    return "| " + " | ".join(cells) + " |"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.runtime.capacity",
        description="Print the capacity model of the synthesized environments.",
    )
    parser.add_argument("--outdir", type=Path, default=PROJECT_ROOT / "cdktf.out",
                        help="a cdktf synth output directory (default: cdktf.out)")  # fmt: skip
    parser.add_argument("--synth", action="store_true",
                        help="synthesize into a temporary directory first (~20 s)")  # fmt: skip
    parser.add_argument("--env", action="append", help="only this environment (repeatable)")
    parser.add_argument(
        "--nodes",
        metavar="TYPES:MIN:MAX[:zonal|:one]",
        help="what-if: replace the node groups, e.g. m7i.xlarge,m6i.xlarge:2:5 (per zone)",
    )
    args = parser.parse_args(argv)
    if args.synth:
        import tempfile

        args.outdir = Path(tempfile.mkdtemp(prefix="kreo-capacity-")) / "cdktf.out"
        _synthesize(args.outdir)
    load = stack_dir_loader(args.outdir)
    names = args.env or sorted(
        p.name.removeprefix("kreo-").removesuffix("-cluster")
        for p in (args.outdir / "stacks").glob("kreo-*-cluster")
    )
    envs = []
    for name in names:
        env_load = load
        if args.nodes:
            types, low, high, *layout = args.nodes.split(":")
            env_load = with_node_groups(
                load, name, instance_types=types.split(","), min_size=int(low),
                max_size=int(high), zonal=(layout or ["zonal"])[0] == "zonal",
            )  # fmt: skip
        envs.append(environment(env_load, name))
    print(report(envs))
    fits = check_all(envs)
    print("\ndocs/architecture.md, Capacity:")
    print("\n".join(docs_row(fit) for fit in fits))
    return 0 if all(f.fits for f in fits) else 1


if __name__ == "__main__":
    sys.exit(main())
