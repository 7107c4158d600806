"""Runtime rules: what the platform gets wrong only once it runs.

Every stack applies cleanly and every chart installs, and still: Cluster
Autoscaler never removes a node, a rollout drops requests, alerts reach nobody,
a metrics endpoint is public. These are constraints between the synthesized
stacks, the values they hand to pinned charts, the manifests our own charts
render with those values, and what the pinned upstream software does by default.

Each rule is one small function over the whole view of one deployment (every
stack of every environment, charts/kreo-marketplace and charts/kreo-platform
rendered per environment with the values the stacks pass, and the upstream
facts of tests/runtime/) returning violations, ``"<stack or env>: <address or
object>: <problem>"``, and cites in its docstring the documentation, source or
issue that states the behaviour.

``test_rule_holds`` runs every rule over the current output and expects no
violation. ``test_rule_bites`` proves every rule catches what it is for: on the
output before issue 17's fixes (fragments of the synthesis at commit a946337, in
tests/runtime/pre_fix/; no rendered manifests) or on a copy of the current view
with the defect put back (``derived``). A rule without a bite fails
``test_every_rule_bites_and_cites``. tests/runtime/README.md says how to add one.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import functools
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
import yaml

from kreo_infra.config import load_environments
from tests.conftest import CONFIG_DIR, ENVIRONMENT_NAMES, PROJECT_ROOT, Synthesis
from tests.rule_catalogue import Bite, Catalogue, bite_cases
from tests.runtime.capacity import release_values

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
PRE_FIX_DIR = RUNTIME_DIR / "pre_fix"
PRE_FIX_COMMIT = "a946337"
"""The synthesis before issue 17's fixes (tests/__snapshots__ recorded it)."""
CHARTS = {
    "kreo-marketplace": PROJECT_ROOT / "charts" / "kreo-marketplace",
    "kreo-platform": PROJECT_ROOT / "charts" / "kreo-platform",
}
ENV_STACK = re.compile(r"^kreo-(?P<env>[a-z0-9]+)-(?P<layer>[a-z]+)$")

CA = "cluster-autoscaler"
KPS = "kube-prometheus-stack"
LBC = "aws-load-balancer-controller"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


# --- the upstream facts ---------------------------------------------------------------------

SUBJECTS = ("chart", "addon", "kubernetes", "eks", "aws")


def subject(row: dict[str, Any]) -> tuple[str, str]:
    """What a fact row is about: ``(chart|addon|kubernetes|eks|aws, name)``."""
    return next((kind, str(row[kind])) for kind in SUBJECTS if kind in row)


@dataclass(frozen=True)
class Facts:
    """tests/runtime/upstream.yaml (``charts|addons.<name>.facts``), then runtime_facts.yaml."""

    upstream: dict[str, Any]
    rows: list[dict[str, Any]]

    def get(self, kind: str, name: str, fact: str) -> Any:
        listed = ((self.upstream.get(f"{kind}s") or {}).get(name) or {}).get("facts") or {}
        if fact in listed:
            return listed[fact]
        for row in self.rows:
            if subject(row) == (kind, name) and row["fact"] == fact:
                return row["value"]
        raise LookupError(f"no fact {fact} of {kind} {name} in tests/runtime/*.yaml")

    def each(self, fact: str) -> Iterator[tuple[tuple[str, str], Any]]:
        for row in self.rows:
            if row["fact"] == fact:
                yield subject(row), row["value"]


def load_facts() -> Facts:
    upstream = RUNTIME_DIR / "upstream.yaml"
    return Facts(
        upstream=yaml.safe_load(upstream.read_text(encoding="utf-8")) if upstream.is_file() else {},
        rows=yaml.safe_load((RUNTIME_DIR / "runtime_facts.yaml").read_text(encoding="utf-8"))[
            "facts"
        ],
    )


# --- the view -------------------------------------------------------------------------------


@dataclass
class Runtime:
    """What the rules read: the stacks, each environment's rendered charts, the facts."""

    stacks: dict[str, dict[str, Any]]
    manifests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Environment to the rendered kreo-marketplace documents (hooks included)."""
    platform_manifests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Environment to the rendered kreo-platform documents."""
    facts: Facts = field(default_factory=load_facts)

    def copy(self) -> Runtime:
        return dataclasses.replace(
            self,
            stacks=copy.deepcopy(self.stacks),
            manifests=copy.deepcopy(self.manifests),
            platform_manifests=copy.deepcopy(self.platform_manifests),
        )

    @property
    def envs(self) -> list[str]:
        return sorted({m["env"] for name in self.stacks if (m := ENV_STACK.match(name))})


Rule = Callable[[Runtime], list[str]]
CATALOGUE: Catalogue[Runtime] = Catalogue()
RULES = CATALOGUE.rules
rule = CATALOGUE.rule


# --- reading the synthesized JSON -------------------------------------------------------------

REFERENCE = re.compile(r"^\$\{(?P<kind>[a-z0-9_]+)\.(?P<name>[^.}]+)\.(?P<attribute>[^}]+)\}$")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
CROSS_STACK = re.compile(
    r"cross-stack-reference-input-(?P<stack>[a-z0-9-]+)\.outputs\.(?P<output>[^.}]+)"
)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def literal(value: Any) -> bool:
    return isinstance(value, str) and "${" not in value


def env_stacks(d: Runtime, env: str) -> list[str]:
    return sorted(name for name in d.stacks if name.startswith(f"kreo-{env}-"))


def each(d: Runtime, kind: str, env: str | None = None) -> Iterator[tuple[str, str, dict]]:
    """``(stack, resource name, body)`` of every resource of ``kind`` (of one environment)."""
    for stack_name in env_stacks(d, env) if env else sorted(d.stacks):
        for name, body in d.stacks[stack_name].get("resource", {}).get(kind, {}).items():
            yield stack_name, name, body


def at(stack_name: str, kind: str, name: str) -> str:
    return f"{stack_name}: {kind}.{name}"


def referenced(d: Runtime, stack_name: str, value: Any, kind: str) -> tuple[str, dict] | None:
    """``(name, body)`` of the resource of ``kind`` that ``value`` (``${kind.name.attr}``) names."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    if not match or match["kind"] != kind:
        return None
    body = d.stacks[stack_name].get("resource", {}).get(kind, {}).get(match["name"])
    return (match["name"], body) if body is not None else None


class Release(NamedTuple):
    stack: str
    name: str
    body: dict[str, Any]
    values: dict[str, Any]

    @property
    def address(self) -> str:
        return at(self.stack, "helm_release", self.name)

    @property
    def namespace(self) -> str:
        return str(self.body.get("namespace", "default"))


def release(d: Runtime, env: str, name: str) -> Release | None:
    """The environment's release named (or of the chart) ``name``."""
    for stack_name, resource, body in each(d, "helm_release", env):
        if name in (body.get("name"), body.get("chart")):
            return Release(stack_name, resource, body, release_values(body))
    return None


def value(values: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path, or ``default``."""
    node = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def truthy(flag: Any) -> bool:
    return flag is True or str(flag).lower() == "true"


def parse_policy(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or REFERENCE.match(text):
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(INTERPOLATION.sub("INTERPOLATED", text))


def allows(document: dict[str, Any], action: str, resource: str | None = None) -> bool:
    """Whether an Allow statement of ``document`` covers ``action`` on ``resource`` (an ARN
    whose ``${...}`` parts stand for anything; None: on some resource)."""
    target = INTERPOLATION.sub("*", resource or "")
    for statement in as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
            continue
        patterns = [INTERPOLATION.sub("*", str(r)) for r in as_list(statement.get("Resource"))]
        if resource is None or any(fnmatch.fnmatchcase(target, p) for p in patterns):
            return True
    return False


def role_documents(d: Runtime, stack_name: str, role: str) -> list[dict[str, Any]]:
    """The identity policies of role ``role`` (inline and attached) in its stack."""
    names = {f"${{aws_iam_role.{role}.id}}", f"${{aws_iam_role.{role}.name}}"}
    stack = d.stacks[stack_name].get("resource", {})
    documents = [
        parse_policy(body.get("policy"))
        for body in stack.get("aws_iam_role_policy", {}).values()
        if body.get("role") in names
    ]
    for body in stack.get("aws_iam_role_policy_attachment", {}).values():
        policy = referenced(d, stack_name, body.get("policy_arn"), "aws_iam_policy")
        if body.get("role") in names and policy:
            documents.append(parse_policy(policy[1].get("policy")))
    return documents


def aws_region(stack: dict[str, Any], body: dict[str, Any]) -> str | None:
    """The region a resource is created in: its ``region`` argument, else its provider's."""
    if literal(body.get("region")):
        return body["region"]
    provider = body.get("provider", "aws")
    alias = provider.split(".", 1)[1] if "." in provider else None
    for config in as_list(stack.get("provider", {}).get("aws")):
        if config.get("alias") == alias and literal(config.get("region")):
            return config["region"]
    return None


def namespaces(d: Runtime, env: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """The environment's Kubernetes namespaces the stacks create: name to (stack, kind, name)
    and their labels under ``labels``."""
    found = {}
    for kind in ("kubernetes_namespace_v1", "kubernetes_namespace"):
        for stack_name, name, body in each(d, kind, env):
            metadata = as_list(body.get("metadata"))[0] if body.get("metadata") else {}
            found[metadata.get("name")] = (stack_name, f"{kind}.{name}", metadata)
    return found


def namespace_labels(d: Runtime, env: str, namespace: str) -> dict[str, str]:
    created = namespaces(d, env).get(namespace)
    labels = dict((created[2].get("labels") or {}) if created else {})
    return {**labels, "kubernetes.io/metadata.name": namespace}


def pod_identities(d: Runtime, env: str) -> dict[tuple[str, str], tuple[str, str, dict]]:
    """``(namespace, service account)`` to the association that gives its pods AWS credentials."""
    return {
        (body.get("namespace"), body.get("service_account")): (stack_name, name, body)
        for stack_name, name, body in each(d, "aws_eks_pod_identity_association", env)
    }


# --- reading the rendered manifests -----------------------------------------------------------


def rendered(d: Runtime, env: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(release, document)`` of both local charts as rendered for ``env``."""
    for document in d.manifests.get(env, []):
        yield "kreo-marketplace", document
    for document in d.platform_manifests.get(env, []):
        yield "kreo-platform", document


def objects(d: Runtime, env: str, kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in rendered(d, env) if doc.get("kind") == kind]


def metadata(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("metadata") or {}


def annotations(doc: dict[str, Any]) -> dict[str, str]:
    return metadata(doc).get("annotations") or {}


def namespace_of(doc: dict[str, Any]) -> str:
    """An object's namespace ("" for cluster-scoped ones; ``render`` fills in the release's)."""
    return str(metadata(doc).get("namespace", ""))


def named(env: str, doc: dict[str, Any]) -> str:
    """``<env>: <Kind> <namespace>/<name>`` (``<Kind> <name>`` if cluster-scoped)."""
    ns = f"{namespace_of(doc)}/" if namespace_of(doc) else ""
    return f"{env}: {doc.get('kind')} {ns}{metadata(doc).get('name')}"


def is_hook(doc: dict[str, Any]) -> bool:
    return "helm.sh/hook" in annotations(doc)


def pod_template(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a workload (``metadata`` and ``spec``), else None."""
    spec = doc.get("spec") or {}
    if doc.get("kind") in (*WORKLOAD_KINDS, "Job"):
        return spec.get("template")
    if doc.get("kind") == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    return None


def workloads(d: Runtime, env: str, kinds: tuple[str, ...] = WORKLOAD_KINDS) -> list[dict]:
    """The environment's rendered workloads of ``kinds`` (hooks left out)."""
    return [
        doc
        for _, doc in rendered(d, env)
        if doc.get("kind") in kinds and not is_hook(doc) and pod_template(doc)
    ]


def pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    return ((pod_template(doc) or {}).get("metadata") or {}).get("labels") or {}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return (pod_template(doc) or {}).get("spec") or {}


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels, matchExpressions) against ``labels``; {} matches all."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        held = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }
        if not held.get(operator, False):
            return False
    return True


def service_targets(d: Runtime, env: str, service: dict[str, Any]) -> list[dict[str, Any]]:
    """The workloads whose pods a Service selects (same namespace)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    return [
        doc
        for doc in workloads(d, env)
        if selector
        and namespace_of(doc) == namespace_of(service)
        and all(pod_labels(doc).get(k) == v for k, v in selector.items())
    ]


def services(d: Runtime, env: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(namespace_of(s), metadata(s).get("name")): s for s in objects(d, env, "Service")}


def service_port(service: dict[str, Any], port: Any) -> dict[str, Any] | None:
    """The Service port a reference (number or name) names."""
    for entry in (service.get("spec") or {}).get("ports") or []:
        if port in (entry.get("port"), entry.get("name")):
            return entry
    return None


def container_port(workload: dict[str, Any], target: Any) -> tuple[int | None, str | None]:
    """``(number, name)`` of the container port a Service's targetPort names."""
    for container in pod_spec(workload).get("containers") or []:
        for entry in container.get("ports") or []:
            if target in (entry.get("containerPort"), entry.get("name")):
                return entry.get("containerPort"), entry.get("name")
    return (target, None) if isinstance(target, int) else (None, target)


def backends(ingress: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """``(path, pathType, service, port)`` of every backend of an Ingress."""
    spec = ingress.get("spec") or {}
    default = ((spec.get("defaultBackend") or {}).get("service")) or None
    if default:
        port = default.get("port") or {}
        yield "/", "Prefix", default.get("name"), port.get("number", port.get("name"))
    for entry in spec.get("rules") or []:
        for path in ((entry.get("http") or {}).get("paths")) or []:
            backend = (path.get("backend") or {}).get("service") or {}
            port = backend.get("port") or {}
            yield (
                path.get("path", "/"),
                path.get("pathType", "ImplementationSpecific"),
                backend.get("name"),
                port.get("number", port.get("name")),
            )


def annotation(ingress: dict[str, Any], service: dict[str, Any] | None, key: str) -> Any:
    """An load balancer annotation for one backend: the Service's wins over the Ingress's."""
    return annotations(service or {}).get(key, annotations(ingress).get(key))


def attributes(text: Any) -> dict[str, str]:
    """A ``k=v,k=v`` annotation (load balancer or target group attributes)."""
    pairs = (item.split("=", 1) for item in str(text or "").split(",") if "=" in item)
    return {k.strip(): v.strip() for k, v in pairs}


# --- network policies -------------------------------------------------------------------------


def policies(d: Runtime, env: str, namespace: str) -> list[dict[str, Any]]:
    return [p for p in objects(d, env, "NetworkPolicy") if namespace_of(p) == namespace]


def policy_types(policy: dict[str, Any]) -> list[str]:
    spec = policy.get("spec") or {}
    return spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _peer_admits(peer: dict, policy_ns: str, ns_labels: dict, ns: str, labels: dict) -> bool:
    if "ipBlock" in peer:
        return False  # pod-to-pod traffic: an ipBlock is not how the peer is recognised
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], ns_labels):
            return False
    elif ns != policy_ns:
        return False
    return matches(peer.get("podSelector", {}), labels)


def _port_admits(ports: list[dict] | None, port: tuple[int | None, str | None]) -> bool:
    """Whether a policy rule's ports (none: all) include a container port (number, name)."""
    number, name = port

    def admits(entry: dict[str, Any]) -> bool:
        given, end = entry.get("port"), entry.get("endPort")
        if given is None or (name is not None and given == name):
            return True
        return isinstance(given, int) and number is not None and given <= number <= (end or given)

    return not ports or any(admits(entry) for entry in ports)


def policy_allows(
    d: Runtime,
    env: str,
    direction: str,
    selected: tuple[str, dict[str, str]],
    peer: tuple[str, dict[str, str]],
    port: tuple[int | None, str | None],
) -> bool:
    """Whether the policies of ``selected``'s namespace let traffic leave it (Egress) to, or
    reach it (Ingress) from, ``peer`` on ``port``: unrestricted unless a policy of that
    direction selects the pod, then allowed only by a rule of one such policy."""
    (ns, labels), (peer_ns, peer_labels) = selected, peer
    chosen = [
        p
        for p in policies(d, env, ns)
        if direction in policy_types(p)
        and matches((p.get("spec") or {}).get("podSelector"), labels)
    ]
    if not chosen:
        return True
    key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    peer_ns_labels = namespace_labels(d, env, peer_ns)
    for policy in chosen:
        for entry in (policy.get("spec") or {}).get(key) or []:
            admitted = not entry.get(peers) or any(
                _peer_admits(p, ns, peer_ns_labels, peer_ns, peer_labels) for p in entry[peers]
            )
            if admitted and _port_admits(entry.get("ports"), port):
                return True
    return False


# --- 1. local storage and scale-down ------------------------------------------------------------


def _local(volume: dict[str, Any]) -> bool:
    """Cluster Autoscaler's local storage: hostPath, or an emptyDir not in memory."""
    empty_dir = volume.get("emptyDir")
    return "hostPath" in volume or (
        empty_dir is not None and (empty_dir or {}).get("medium") != "Memory"
    )


def _unless(spec: dict[str, Any], values: dict[str, Any]) -> bool:
    """Whether a fact row's ``unless`` (every path has its value) or ``unless_set`` holds."""
    defaults = spec.get("defaults") or {}
    condition = spec.get("unless")
    if condition and all(value(values, p, defaults.get(p)) == w for p, w in condition.items()):
        return True
    return any(value(values, p) not in (None, {}, [], "") for p in spec.get("unless_set", []))


def _installed_values(d: Runtime, env: str, kind: str, name: str) -> dict[str, Any] | None:
    """The values of an installed chart (its release) or add-on (its configuration)."""
    if kind == "chart":
        found = release(d, env, name)
        return found.values if found else None
    for _, _, body in each(d, "aws_eks_addon", env):
        if body.get("addon_name") == name:
            configuration = body.get("configuration_values")
            return json.loads(configuration) if literal(configuration) else {}
    return None


def pods_with_local_storage(d: Runtime, env: str) -> Iterator[tuple[str, dict, list[str]]]:
    """``(pod, its annotations, its local volumes)``: rendered workloads and, from the facts,
    the pinned charts' and add-ons' pods (DaemonSet pods are never drained)."""
    for doc in workloads(d, env, ("Deployment", "StatefulSet")):
        local = [v["name"] for v in pod_spec(doc).get("volumes") or [] if _local(v)]
        if local:
            template_metadata = (pod_template(doc) or {}).get("metadata") or {}
            yield named(env, doc), template_metadata.get("annotations") or {}, local
    for (kind, name), rows in d.facts.each("local_volumes"):
        values = _installed_values(d, env, kind, name)
        for row in rows if values is not None else []:
            local = [v["name"] for v in row["volumes"] if not _unless(v, values)]
            if local and not _unless(row, values):
                pod_annotations = value(values, row["annotations_key"]) or {}
                yield f"{env}: {row['workload']} of {name}", pod_annotations, local


def skips_local_storage(d: Runtime, values: dict[str, Any]) -> bool:
    """Cluster Autoscaler's effective ``--skip-nodes-with-local-storage``."""
    arguments = {**d.facts.get("chart", CA, "chart_extra_args"), **(values.get("extraArgs") or {})}
    default = d.facts.get("chart", CA, "skip_nodes_with_local_storage")
    return truthy(arguments.get("skip-nodes-with-local-storage", default))


@rule
def autoscaler_can_remove_nodes_with_local_storage(d: Runtime) -> list[str]:
    """With ``--skip-nodes-with-local-storage`` (true by default) Cluster Autoscaler never
    removes a node running a pod with an emptyDir (not in memory) or hostPath volume,
    unless the pod's ``safe-to-evict-local-volumes`` annotation lists every such volume.
    Our services mount /tmp as an emptyDir; metrics-server, Grafana and the EBS CSI
    controller carry emptyDirs too: with the default, the cluster only ever grows.

    Cite: kubernetes/autoscaler @ cluster-autoscaler-1.35.0, cluster-autoscaler/config/
    flags/flags.go line 200, utils/drain/drain.go lines 38 and 141, FAQ.md lines 96-101
    and 125-130; tests/runtime/runtime_facts.yaml (local_volumes: where each was read).
    """
    key = d.facts.get("chart", CA, "safe_to_evict_local_volumes_annotation")
    found = []
    for env in d.envs:
        autoscaler = release(d, env, CA)
        if autoscaler is None or not skips_local_storage(d, autoscaler.values):
            continue
        for where, pod_annotations, local in pods_with_local_storage(d, env):
            listed = {v.strip() for v in str(pod_annotations.get(key, "")).split(",")}
            missing = [v for v in local if v not in listed]
            if missing:
                found.append(
                    f"{where}: local volumes {', '.join(missing)} (not in {key}) and "
                    f"{autoscaler.address} keeps skip-nodes-with-local-storage true: "
                    "Cluster Autoscaler never removes its node"
                )
    return found


# --- 2. readiness gates -------------------------------------------------------------------------


def target_types(d: Runtime, env: str, ingress: dict[str, Any]) -> set[str]:
    """The target types of an Ingress's backends (annotation, else the controller's default)."""
    controller = release(d, env, LBC)
    default = value(controller.values if controller else {}, "defaultTargetType") or (
        d.facts.get("chart", LBC, "default_target_type")
    )
    known = services(d, env)
    key = "alb.ingress.kubernetes.io/target-type"
    return {
        annotation(ingress, known.get((namespace_of(ingress), svc)), key) or default
        for _, _, svc, _ in backends(ingress)
    }


@rule
def ip_targets_have_readiness_gates(d: Runtime) -> list[str]:
    """An Ingress with IP targets needs its namespace labelled for the load balancer
    controller's pod readiness gates, before any of its pods exist (the gate is injected
    at pod creation only): without it a rollout replaces pods faster than the target group
    registers the new ones, and the load balancer is left with no healthy target.

    Cite: kubernetes-sigs/aws-load-balancer-controller @ v3.5.0, docs/deploy/
    pod_readiness_gate.md lines 6-16 and 39-48, pkg/inject/pod_readiness/
    pod_readiness_gate.go line 73; aws/eks-charts @ v0.0.242 stable/
    aws-load-balancer-controller/values.yaml line 202 (defaultTargetType instance).
    """
    label = d.facts.get("chart", LBC, "readiness_gate_label")
    found = []
    for env in d.envs:
        created = namespaces(d, env)
        for release_name, ingress in rendered(d, env):
            if ingress.get("kind") != "Ingress" or "ip" not in target_types(d, env, ingress):
                continue
            ns, where = namespace_of(ingress), named(env, ingress)
            if ns not in created:
                found.append(f"{where}: IP targets in namespace {ns}, which no stack creates")
                continue
            stack_name, address, ns_metadata = created[ns]
            labels = ns_metadata.get("labels") or {}
            for key, wanted in label.items():
                if labels.get(key) != wanted:
                    found.append(
                        f"{where}: IP targets, and namespace {ns} ({stack_name}: {address}) "
                        f"is not labelled {key}={wanted}: its pods get no readiness gate"
                    )
            owner = release(d, env, release_name)
            if (
                owner
                and owner.stack == stack_name
                and address not in owner.body.get("depends_on", [])
            ):
                found.append(
                    f"{owner.address}: does not depend on {address}: its pods may be "
                    "created before the namespace has its readiness-gate label"
                )
    return found


# --- 3. graceful shutdown -----------------------------------------------------------------------

SLEEP = re.compile(r"\bsleep\s+(\d+)")


def pre_stop_pause(container: dict[str, Any]) -> int:
    """Seconds a container's preStop hook pauses (``sleep`` action or ``sleep N`` command)."""
    pre_stop = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in pre_stop:
        return int((pre_stop["sleep"] or {}).get("seconds", 0))
    found = SLEEP.search(" ".join(map(str, ((pre_stop.get("exec") or {}).get("command")) or [])))
    return int(found.group(1)) if found else 0


def serving_containers(workload: dict[str, Any], port: tuple[int | None, str | None]) -> list:
    containers = pod_spec(workload).get("containers") or []
    wanted = {p for p in port if p is not None}
    serving = [
        c
        for c in containers
        if any({p.get("containerPort"), p.get("name")} & wanted for p in c.get("ports") or [])
    ]
    return serving or containers


def ingress_targets(d: Runtime, env: str) -> Iterator[tuple[dict, dict, dict, dict]]:
    """``(ingress, service, service port, workload)`` for every Ingress backend."""
    known = services(d, env)
    for ingress in objects(d, env, "Ingress"):
        for _, _, name, port in backends(ingress):
            service = known.get((namespace_of(ingress), name))
            entry = service_port(service, port) if service else None
            for workload in service_targets(d, env, service) if entry else []:
                yield ingress, service, entry, workload


@rule
def grace_period_outlasts_deregistration(d: Runtime) -> list[str]:
    """A pod behind a load balancer keeps serving while the target is deregistered: its
    preStop hook pauses (more than 0 s, less than the grace period) so SIGTERM comes after
    the load balancer stops sending new requests, and its terminationGracePeriodSeconds
    exceeds the target group's deregistration delay (the annotation's, else 300 s), or
    the requests still draining to it are cut at SIGKILL.

    Cite: https://docs.aws.amazon.com/eks/latest/best-practices/load-balancing.html
    (aws/aws-eks-best-practices latest/bpg/networking/loadbalancing.adoc lines 350-378:
    a PreStop hook delays SIGTERM; in-flight requests are dropped when the deregistration
    delay, 300 s by default, expires); https://kubernetes.io/docs/concepts/containers/
    container-lifecycle-hooks/ (the sleep handler); kubernetes-sigs/
    aws-load-balancer-controller @ v3.5.0 docs/guide/ingress/annotations.md line 11.
    """
    default_delay = d.facts.get(
        "aws", "elasticloadbalancing", "default_deregistration_delay_seconds"
    )
    default_grace = d.facts.get("kubernetes", "pod", "default_termination_grace_period_seconds")
    found: dict[str, None] = {}
    for env in d.envs:
        for ingress, service, entry, workload in ingress_targets(d, env):
            key = "alb.ingress.kubernetes.io/target-group-attributes"
            delay = int(
                attributes(annotation(ingress, service, key)).get(
                    "deregistration_delay.timeout_seconds", default_delay
                )
            )
            grace = int(pod_spec(workload).get("terminationGracePeriodSeconds", default_grace))
            where = named(env, workload)
            if grace <= delay:
                found[
                    f"{where}: terminationGracePeriodSeconds {grace} <= the deregistration "
                    f"delay {delay} s of its target group ({metadata(ingress).get('name')}): "
                    "requests still draining to it are cut at SIGKILL"
                ] = None
            port = container_port(workload, entry.get("targetPort", entry.get("port")))
            for container in serving_containers(workload, port):
                pause = pre_stop_pause(container)
                if pause <= 0:
                    found[
                        f"{where}: container {container.get('name')} has no preStop pause: "
                        "SIGTERM comes while the load balancer still sends it new requests"
                    ] = None
                elif pause >= grace:
                    found[
                        f"{where}: container {container.get('name')}: preStop pause {pause} s "
                        f">= terminationGracePeriodSeconds {grace}"
                    ] = None
    return list(found)


# --- 4. alerts reach someone --------------------------------------------------------------------


def deep_merge(base: Any, over: Any) -> Any:
    """Helm's merge of values: maps key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: deep_merge(base.get(k), over[k]) if k in base else over[k] for k in over} | {
            k: v for k, v in base.items() if k not in over
        }
    return copy.deepcopy(over)


def alertmanager_config(d: Runtime, values: dict[str, Any]) -> dict[str, Any]:
    """The effective Alertmanager configuration: the chart's default merged with ours."""
    default = {
        "route": {"receiver": d.facts.get("chart", KPS, "alertmanager_default_receiver")},
        "receivers": d.facts.get("chart", KPS, "alertmanager_default_receivers"),
    }
    return deep_merge(default, value(values, "alertmanager.config") or {})


def route_receivers(route: dict[str, Any]) -> Iterator[str]:
    if route.get("receiver"):
        yield route["receiver"]
    for child in route.get("routes") or []:
        yield from route_receivers(child)


def alertmanager_service_account(d: Runtime, values: dict[str, Any]) -> str:
    default = d.facts.get("chart", KPS, "alertmanager_service_account")
    account = value(values, "alertmanager.serviceAccount") or {}
    if account.get("create", default["create"]):
        return account.get("name") or default["generated"]
    return account.get("name") or "default"


def alarm_topics(d: Runtime, env: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        body["name"]: (stack_name, name, body)
        for stack_name, name, body in each(d, "aws_sns_topic", env)
        if literal(body.get("name"))
    }


BOUNDED_SUBJECT = re.compile(r'^\{\{ reReplaceAll "\^\(\.\{0,(?P<limit>\d+)\}\)\.\*\$" "\$1" ')
"""A subject template that keeps at most ``limit`` characters of what it renders."""

SNS_SUBJECT_MAX = 99
"""SNS Publish: "Subject ... must be less than 100 characters long"."""


def subject_problem(sns: dict[str, Any]) -> str | None:
    """Alertmanager sends ``subject`` as is (default: ``sns.default.subject``, every common
    label's value); SNS rejects a longer one with 400, which Alertmanager does not retry."""
    subject = sns.get("subject")
    if subject is None:
        return "no subject: the default lists every common label and exceeds SNS's 100"
    bounded = BOUNDED_SUBJECT.match(str(subject))
    if bounded is None or int(bounded["limit"]) > SNS_SUBJECT_MAX:
        return f"subject {subject!r} is not cut to {SNS_SUBJECT_MAX} characters"
    return None


def sns_problems(d: Runtime, env: str, kps: Release, sns: dict[str, Any]) -> Iterator[str]:
    """What keeps one ``sns_configs`` entry from publishing to the environment's topic."""
    if problem := subject_problem(sns):
        yield problem
    arn = str(sns.get("topic_arn", ""))
    parts = arn.split(":")
    topic = alarm_topics(d, env).get(parts[-1])
    if topic is None or len(parts) != 6:
        yield f"publishes to {arn or 'nothing'}, a topic no stack of {env} creates"
        return
    stack_name, _, body = topic
    region = aws_region(d.stacks[stack_name], body)
    if parts[3] != region:
        yield f"topic_arn names region {parts[3]}, the topic is in {region}"
    if (sns.get("sigv4") or {}).get("region") != parts[3]:
        yield f"sns_configs without sigv4.region {parts[3]}: the SNS client has no region"
    account = (kps.namespace, alertmanager_service_account(d, kps.values))
    association = pod_identities(d, env).get(account)
    if association is None:
        yield f"no aws_eks_pod_identity_association for {'/'.join(account)}: no AWS credentials"
        return
    role = referenced(d, association[0], association[2].get("role_arn"), "aws_iam_role")
    documents = role_documents(d, association[0], role[0]) if role else []
    if not any(allows(doc, "sns:Publish", arn) for doc in documents):
        yield f"the role of {'/'.join(account)} may not sns:Publish to {parts[-1]}"
    if body.get("kms_master_key_id"):
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            if not any(allows(doc, action) for doc in documents):
                yield f"{parts[-1]} is encrypted; the role of {'/'.join(account)} may not {action}"


@rule
def alertmanager_notifies_someone(d: Runtime) -> list[str]:
    """kube-prometheus-stack's Alertmanager routes every alert to the ``'null'`` receiver,
    which has no notifier, unless our values route them elsewhere: alerts fire and reach
    nobody. Every receiver the routing tree names must exist (Alertmanager rejects the
    configuration). An SNS notifier publishes to the environment's alarm topic, with
    ``sigv4.region`` (the SDK has no other), as a service account a Pod Identity
    association gives a role that may publish (and use the topic's key).

    Cite: prometheus-community/helm-charts @ kube-prometheus-stack-88.5.3 charts/
    kube-prometheus-stack/values.yaml lines 553-592; prometheus/alertmanager @ v0.34.0
    notify/sns/sns.go lines 160-165; https://docs.aws.amazon.com/eks/latest/userguide/
    pod-identities.html; https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
    (publishers to an encrypted topic need kms:GenerateDataKey* and kms:Decrypt);
    https://docs.aws.amazon.com/sns/latest/api/API_Publish.html (Subject: fewer than 100
    characters) with prometheus/alertmanager @ v0.34.0 notify/sns/sns.go (the subject is
    sent unshortened), config/notifiers.go line 125 and template/default.tmpl (the default
    subject: every common label), notify/util.go lines 245-264 (a 4xx is not retried);
    prometheus/alertmanager#2781.
    """
    found = []
    for env in d.envs:
        kps = release(d, env, KPS)
        if kps is None:
            continue
        if value(kps.values, "alertmanager.enabled", True) is False:
            found.append(f"{kps.address}: Alertmanager is disabled: alerts reach nobody")
            continue
        config = alertmanager_config(d, kps.values)
        receivers = {r.get("name"): r for r in as_list(config.get("receivers"))}
        for name in dict.fromkeys(route_receivers(config.get("route") or {})):
            if name not in receivers:
                found.append(f"{kps.address}: the route names undefined receiver {name}")
        root = (config.get("route") or {}).get("receiver")
        notifiers = [
            k for k, v in (receivers.get(root) or {}).items() if k.endswith("_configs") and v
        ]
        if not notifiers:
            found.append(
                f"{kps.address}: Alertmanager's route sends alerts to receiver {root!r}, "
                "which has no notifier (no *_configs): alerts reach nobody"
            )
        for sns in as_list((receivers.get(root) or {}).get("sns_configs")):
            found += [
                f"{kps.address}: receiver {root}: {p}" for p in sns_problems(d, env, kps, sns)
            ]
    return found


# --- 5. scrapes of what EKS hides ---------------------------------------------------------------


@rule
def no_scrapes_eks_never_exposes(d: Runtime) -> list[str]:
    """kube-prometheus-stack scrapes the controller manager, scheduler, etcd and kube-proxy
    by default. EKS runs the first three off the nodes and binds kube-proxy's metrics to
    127.0.0.1: the targets are down forever and their absent/TargetDown alerts fire for
    good (to the pager, once Alertmanager notifies someone).

    Cite: prometheus-community/helm-charts @ kube-prometheus-stack-88.5.3 values.yaml
    lines 2024, 2325, 2439, 2578 (enabled: true); awsdocs/amazon-eks-user-guide
    latest/ug/observability/view-raw-metrics.adoc line 65; prometheus-community/
    helm-charts#977 and eksctl-io/eksctl#4081 (kube-proxy metrics on 127.0.0.1:10249).
    """
    defaults = d.facts.get("chart", KPS, "scrape_components_enabled")
    hidden = d.facts.get("eks", "control-plane", "unexposed_scrape_components")
    found = []
    for env in d.envs:
        kps = release(d, env, KPS)
        for component in hidden if kps else []:
            if (
                value(kps.values, f"{component}.enabled", defaults.get(component, True))
                is not False
            ):
                found.append(
                    f"{kps.address}: {component} is enabled, and EKS never exposes it: "
                    "its targets are down and its alerts fire forever"
                )
    return found


# --- 6. zonal volumes, zonal node groups -------------------------------------------------------


def persistent_claims(d: Runtime, values: dict[str, Any]) -> Iterator[tuple[str, dict]]:
    """``(workload, claim spec)`` of kube-prometheus-stack's persistent volumes."""
    for workload, path in (
        ("prometheus", "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec"),
        ("alertmanager", "alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec"),
    ):
        if value(values, path):
            yield workload, value(values, path)
    default = d.facts.get("chart", KPS, "grafana_persistence")
    grafana = value(values, "grafana.persistence") or {}
    if grafana.get("enabled", default["enabled"]) and grafana.get("type", default["type"]) == "pvc":
        yield (
            "grafana",
            {
                "accessModes": grafana.get("accessModes", default["access_modes"]),
                "storageClassName": grafana.get("storageClassName"),
            },
        )


def zonal_needs(d: Runtime, env: str) -> tuple[list[str], set[str | None]]:
    """Why the environment's workloads are bound to zones, and the storage classes involved."""
    needs, classes = [], set()
    kps = release(d, env, KPS)
    for workload, claim in persistent_claims(d, kps.values) if kps else []:
        if "ReadWriteOnce" in as_list(claim.get("accessModes")):
            needs.append(f"{workload}'s ReadWriteOnce volume")
            classes.add(claim.get("storageClassName"))
    for doc in workloads(d, env):
        for spread in pod_spec(doc).get("topologySpreadConstraints") or []:
            if spread.get("topologyKey") == "topology.kubernetes.io/zone" and (
                spread.get("whenUnsatisfiable") == "DoNotSchedule"
            ):
                needs.append(f"{doc['kind']} {metadata(doc).get('name')}'s zone spread")
    return list(dict.fromkeys(needs)), classes


def storage_class(d: Runtime, env: str, name: str | None) -> dict[str, Any] | None:
    """The rendered StorageClass ``name`` (None: the default class)."""
    for doc in objects(d, env, "StorageClass"):
        default = annotations(doc).get("storageclass.kubernetes.io/is-default-class") == "true"
        if metadata(doc).get("name") == name or (name is None and default):
            return doc
    return None


@rule
def zonal_workloads_have_zonal_node_groups(d: Runtime) -> list[str]:
    """A pod bound to a zone (its EBS volume, or a DoNotSchedule zone spread) can only be
    placed by Cluster Autoscaler if each node group is one zone: a group spanning zones
    may add its node anywhere. The groups need ``--balance-similar-node-groups`` (false
    by default) to grow evenly, and the EBS storage class ``WaitForFirstConsumer`` so a
    volume is created in the zone its pod was scheduled to, not before.

    Cite: kubernetes/autoscaler @ cluster-autoscaler-1.35.0 cluster-autoscaler/
    cloudprovider/aws/README.md lines 470-475, config/flags/flags.go line 160;
    awsdocs/amazon-eks-user-guide latest/ug/nodes/managed-node-groups.adoc line 53;
    https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode.
    """
    found = []
    for env in d.envs:
        needs, classes = zonal_needs(d, env)
        if not needs:
            continue
        for stack_name, name, body in each(d, "aws_eks_node_group", env):
            subnets = as_list(body.get("subnet_ids"))
            if len(subnets) != 1:
                found.append(
                    f"{at(stack_name, 'aws_eks_node_group', name)}: spans {len(subnets)} "
                    f"subnets; {needs[0]} needs a node group per zone"
                )
        autoscaler = release(d, env, CA)
        default = d.facts.get("chart", CA, "balance_similar_node_groups")
        if autoscaler and not truthy(
            (autoscaler.values.get("extraArgs") or {}).get("balance-similar-node-groups", default)
        ):
            found.append(
                f"{autoscaler.address}: balance-similar-node-groups is not true: the "
                "zonal node groups grow unevenly"
            )
        binding_default = d.facts.get("kubernetes", "storage", "volume_binding_mode_default")
        for name in sorted(classes, key=str):
            doc = storage_class(d, env, name)
            mode = (doc or {}).get("volumeBindingMode", binding_default)
            if doc and mode != "WaitForFirstConsumer":
                found.append(
                    f"{named(env, doc)}: volumeBindingMode {mode}: the volume is created "
                    "in a zone before its pod is scheduled"
                )
    return found


# --- 7. one shape per node group --------------------------------------------------------------


@rule
def node_group_instance_types_match(d: Runtime) -> list[str]:
    """Cluster Autoscaler sizes a node group by one instance type (the first): every type
    of a group must have the same vCPUs and memory, or it scales up for pods that do not
    fit and removes nodes it thinks are small. Every type must be one we know the size of.

    Cite: kubernetes/autoscaler @ cluster-autoscaler-1.35.0 cluster-autoscaler/
    cloudprovider/aws/README.md lines 185-196 and 344-346; constructs/kreo_infra/cluster/
    instance_types.py (INSTANCE_TYPES, from EC2's instance type tables).
    """
    from kreo_infra.config.instance_types import INSTANCE_TYPES

    found = []
    for stack_name, name, body in each(d, "aws_eks_node_group"):
        where = at(stack_name, "aws_eks_node_group", name)
        types = [t for t in as_list(body.get("instance_types")) if literal(t)]
        for unknown in [t for t in types if t not in INSTANCE_TYPES]:
            found.append(f"{where}: unknown instance type {unknown} (not in INSTANCE_TYPES)")
        shapes = {
            t: (INSTANCE_TYPES[t].vcpus, INSTANCE_TYPES[t].memory_mib)
            for t in types
            if t in INSTANCE_TYPES
        }
        if len(set(shapes.values())) > 1:
            listed = ", ".join(f"{t} {c} vCPU/{m} MiB" for t, (c, m) in shapes.items())
            found.append(f"{where}: instance types of different shapes: {listed}")
    return found


# --- 8. disruption budgets --------------------------------------------------------------------


@rule
def pdbs_evict_unhealthy_pods(d: Runtime) -> list[str]:
    """A PodDisruptionBudget's default ``IfHealthyBudget`` refuses to evict a pod that is
    running but not ready while the budget is short: a crash-looping Deployment blocks
    every drain of its nodes (node group upgrades, Cluster Autoscaler) until someone
    deletes the pod. ``AlwaysAllow`` lets drains evict pods that serve nothing.

    Cite: https://kubernetes.io/docs/tasks/run-application/configure-pdb/
    #unhealthy-pod-eviction-policy (GA in Kubernetes 1.31).
    """
    default = d.facts.get("kubernetes", "policy", "unhealthy_pod_eviction_policy_default")
    found = []
    for env in d.envs:
        for pdb in objects(d, env, "PodDisruptionBudget"):
            policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy", default)
            if policy != "AlwaysAllow":
                found.append(
                    f"{named(env, pdb)}: unhealthyPodEvictionPolicy {policy}: a pod that "
                    "never becomes ready blocks every drain of its node"
                )
    return found


@rule
def platform_pdbs_evict_unhealthy_pods(d: Runtime) -> list[str]:
    """The same for the pinned charts' disruption budgets that our values switch on,
    where the chart passes ``unhealthyPodEvictionPolicy`` through (cluster-autoscaler and
    external-secrets do not: nothing to set there).

    Cite: https://kubernetes.io/docs/tasks/run-application/configure-pdb/
    #unhealthy-pod-eviction-policy; tests/runtime/runtime_facts.yaml
    (pdb_unhealthy_pod_eviction: each chart's template and value, at its pinned tag).
    """
    default = d.facts.get("kubernetes", "policy", "unhealthy_pod_eviction_policy_default")
    found = []
    for env in d.envs:
        for (_, chart), budgets in d.facts.each("pdb_unhealthy_pod_eviction"):
            installed = release(d, env, chart)
            for budget in budgets if installed else []:
                given = value(installed.values, budget["pdb"])
                if not isinstance(given, dict) or not given or given.get("enabled") is False:
                    continue
                policy = given.get("unhealthyPodEvictionPolicy", budget["default"]) or default
                if policy != "AlwaysAllow":
                    found.append(
                        f"{installed.address}: {budget['pdb']} without unhealthyPodEvictionPolicy "
                        f"AlwaysAllow ({policy}): a pod that never becomes ready blocks every "
                        "drain of its node"
                    )
    return found


# --- 9. metrics behind the web ACL ---------------------------------------------------------------

PRIVATE_PATH_TRANSFORMATIONS = ("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE")


def routes_to(path: str, path_type: str, target: str) -> bool:
    """Whether an Ingress path sends requests for ``target`` to its backend."""
    if path_type == "Exact":
        return target == path
    prefix = path.rstrip("*").rstrip("/")
    return not prefix or target == prefix or target.startswith(prefix + "/")


def scraped_paths(d: Runtime, env: str, service: dict[str, Any], port: Any) -> list[str]:
    """The metrics paths ServiceMonitors scrape on one port of a Service."""
    paths = []
    labels = metadata(service).get("labels") or {}
    for monitor in objects(d, env, "ServiceMonitor"):
        spec = monitor.get("spec") or {}
        same_namespace = namespace_of(monitor) == namespace_of(service)
        if not same_namespace or not matches(spec.get("selector"), labels):
            continue
        for endpoint in spec.get("endpoints") or []:
            entry = service_port(service, endpoint.get("port", endpoint.get("targetPort")))
            if entry is not None and entry is service_port(service, port):
                paths.append(endpoint.get("path", "/metrics"))
    return paths


def web_acl(d: Runtime, env: str, reference: str) -> tuple[str, str, dict[str, Any]] | None:
    """The ``aws_wafv2_web_acl`` an Ingress's wafv2-acl-arn names (a cross-stack output)."""
    found = CROSS_STACK.search(reference)
    if found and found["stack"] in d.stacks:
        output = d.stacks[found["stack"]].get("output", {}).get(found["output"], {})
        acl = referenced(d, found["stack"], output.get("value"), "aws_wafv2_web_acl")
        return (found["stack"], *acl) if acl else None
    for stack_name, name, body in each(d, "aws_wafv2_web_acl", env):
        if literal(body.get("name")) and f"/webacl/{body['name']}/" in reference:
            return stack_name, name, body
    return None


def blocking_problem(acl: dict[str, Any], path: str) -> str | None:
    """What lets a request for ``path`` (or its encoded, doubled, upper-case variants)
    through the web ACL; None if a blocking rule catches them all first."""
    ordered = sorted(as_list(acl.get("rule")), key=lambda r: r.get("priority", 0))
    for entry in ordered:
        action = entry.get("action") or {}
        if "allow" in action:
            return f"allows some requests (rule {entry.get('name')}) before any rule blocks {path}"
        match = (entry.get("statement") or {}).get("byte_match_statement") or {}
        if "block" not in action or "uri_path" not in (match.get("field_to_match") or {}):
            continue
        search, position = str(match.get("search_string", "")), match.get("positional_constraint")
        if not (position in ("STARTS_WITH", "CONTAINS") and search.lower() in path.lower()):
            continue
        order = {
            t.get("type"): t.get("priority", 0) for t in as_list(match.get("text_transformation"))
        }
        missing = [t for t in PRIVATE_PATH_TRANSFORMATIONS if t not in order]
        if missing:
            return f"blocks {search} in rule {entry.get('name')} without {', '.join(missing)}"
        if order["URL_DECODE"] > order["NORMALIZE_PATH"]:
            return f"decodes after normalizing in rule {entry.get('name')} (/%2e{path} passes)"
        if search != search.lower():
            return f"lowercases before matching {search} in rule {entry.get('name')}: never matches"
        return None
    return f"has no rule blocking {path}"


@rule
def metrics_not_public(d: Runtime) -> list[str]:
    """A metrics endpoint a ServiceMonitor scrapes on the port an Ingress routes to is on
    the internet unless the web ACL the Ingress names blocks its path first, after
    URL_DECODE, NORMALIZE_PATH and LOWERCASE (in that order): the load balancer matches
    paths literally, the services (Express) route case-insensitively and resolve
    ``//metrics``, ``/./metrics`` and ``%2Fmetrics`` to the same handler.

    Cite: https://docs.aws.amazon.com/waf/latest/developerguide/
    waf-rule-statement-transformation.html; https://expressjs.com/en/4x/api.html#express.router
    (caseSensitive: disabled by default); kubernetes-sigs/aws-load-balancer-controller @
    v3.5.0 docs/guide/ingress/annotations.md (wafv2-acl-arn).
    """
    found: dict[str, None] = {}
    for env in d.envs:
        known = services(d, env)
        for ingress in objects(d, env, "Ingress"):
            reference = annotations(ingress).get("alb.ingress.kubernetes.io/wafv2-acl-arn")
            for path, path_type, name, port in backends(ingress):
                service = known.get((namespace_of(ingress), name))
                for metrics in scraped_paths(d, env, service, port) if service else []:
                    if not routes_to(path, path_type, metrics):
                        continue
                    where = f"{named(env, ingress)}: {name}'s {metrics} is public"
                    acl = web_acl(d, env, reference) if reference else None
                    if not reference:
                        found[f"{where}: the Ingress names no web ACL"] = None
                    elif acl is None:
                        found[f"{where}: it names a web ACL no stack of {env} creates"] = None
                    elif problem := blocking_problem(acl[2], metrics):
                        address = at(acl[0], "aws_wafv2_web_acl", acl[1])
                        found[f"{where}: web ACL {address} {problem}"] = None
    return list(found)


# --- 10. calls and network policies -------------------------------------------------------------

SERVICE_URL = "SERVICE_URL_"


def service_urls(d: Runtime, env: str, workload: dict[str, Any]) -> dict[str, str]:
    """The SERVICE_URL_* variables a workload's containers get (env, and envFrom ConfigMaps)."""
    maps = {(namespace_of(c), metadata(c).get("name")): c for c in objects(d, env, "ConfigMap")}
    urls = {}
    for container in pod_spec(workload).get("containers") or []:
        for source in container.get("envFrom") or []:
            ref = (source.get("configMapRef") or {}).get("name")
            data = (maps.get((namespace_of(workload), ref)) or {}).get("data") or {}
            urls |= {k: v for k, v in data.items() if k.startswith(SERVICE_URL)}
        for variable in container.get("env") or []:
            if str(variable.get("name", "")).startswith(SERVICE_URL) and "value" in variable:
                urls[variable["name"]] = variable["value"]
    return urls


def called(d: Runtime, env: str, workload: dict) -> Iterator[tuple[str, str, dict | None, int]]:
    """``(variable, host, Service or None, port)`` of every service URL a workload has."""
    known = services(d, env)
    for variable, url in service_urls(d, env, workload).items():
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        name, _, rest = host.partition(".")
        ns = rest.split(".")[0] if rest else namespace_of(workload)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        yield variable, host, known.get((ns, name)), port


def pod(workload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    return namespace_of(workload), pod_labels(workload)


def _selected(deployments: list[dict], ns: str, selector: dict | None) -> list[dict]:
    return [w for w in deployments if namespace_of(w) == ns and matches(selector, pod_labels(w))]


def allowances(d: Runtime, env: str) -> Iterator[tuple[dict[str, Any], str, str]]:
    """``(policy, caller, callee)`` of every pod-to-pod allowance between Deployments (a
    peer that is a podSelector alone: same namespace)."""
    deployments = workloads(d, env, ("Deployment",))
    for policy in objects(d, env, "NetworkPolicy"):
        spec, ns = policy.get("spec") or {}, namespace_of(policy)
        selected = _selected(deployments, ns, spec.get("podSelector"))
        for key, peers in (("egress", "to"), ("ingress", "from")):
            peered = [
                w
                for entry in spec.get(key) or []
                for peer in entry.get(peers) or []
                if set(peer) == {"podSelector"}
                for w in _selected(deployments, ns, peer["podSelector"])
            ]
            for one in selected:
                for other in peered:
                    caller, callee = (one, other) if key == "egress" else (other, one)
                    if caller is not callee:
                        yield policy, metadata(caller).get("name"), metadata(callee).get("name")


def _stale_allowances(d: Runtime, env: str) -> Iterator[str]:
    """Pod-to-pod allowances with no service URL behind them."""
    calls = {
        (metadata(w).get("name"), metadata(t).get("name"))
        for w in workloads(d, env, ("Deployment",))
        for _, _, service, _ in called(d, env, w)
        if service
        for t in service_targets(d, env, service)
    }
    for policy, caller, callee in allowances(d, env):
        if (caller, callee) not in calls:
            yield (
                f"{named(env, policy)}: allows {caller} to call {callee}, and {caller} has "
                "no SERVICE_URL_ for it (a stale allowance)"
            )


@rule
def calls_match_network_policies(d: Runtime) -> list[str]:
    """Every in-cluster call a service is configured for (SERVICE_URL_<NAME>) is allowed by
    an egress policy of the caller's pods and an ingress policy of the callee's, on the
    callee's port: otherwise the call times out (the policies default-deny). And every
    pod-to-pod allowance has a call behind it: an allowance nobody uses is an open door.

    Cite: https://kubernetes.io/docs/concepts/services-networking/network-policies/
    ("isolated for egress/ingress", the union of the policies that select a pod);
    https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy.html (the VPC CNI
    enforces them: cluster.addons vpc-cni enableNetworkPolicy).
    """
    found: dict[str, None] = {}
    for env in d.envs:
        for caller in workloads(d, env, ("Deployment",)):
            for variable, host, service, port in called(d, env, caller):
                where = f"{named(env, caller)}: {variable}"
                entry = service_port(service, port) if service else None
                if entry is None:
                    found[f"{where} names {host}:{port}, which no Service of {env} serves"] = None
                    continue
                for callee in service_targets(d, env, service):
                    target = container_port(callee, entry.get("targetPort", entry.get("port")))
                    if not policy_allows(d, env, "Egress", pod(caller), pod(callee), target):
                        found[f"{where}: no egress policy lets it call {host}:{port}"] = None
                    if not policy_allows(d, env, "Ingress", pod(callee), pod(caller), target):
                        found[
                            f"{where}: the ingress policies of {metadata(callee).get('name')} "
                            f"do not admit it on port {target[0] or target[1]}"
                        ] = None
        found |= dict.fromkeys(_stale_allowances(d, env))
    return list(found)


# --- 11. read-only roots ----------------------------------------------------------------------

WRITABLE_VOLUMES = ("emptyDir", "persistentVolumeClaim", "ephemeral", "hostPath")


def writable_mount(container: dict[str, Any], volumes: dict[str, dict], path: str) -> bool:
    """Whether ``path`` is under a read-write mount of a writable volume."""
    for mount in container.get("volumeMounts") or []:
        root = str(mount.get("mountPath", "")).rstrip("/")
        volume = volumes.get(mount.get("name"), {})
        under = path == root or path.startswith(root + "/")
        if under and not mount.get("readOnly") and any(k in volume for k in WRITABLE_VOLUMES):
            return True
    return False


@rule
def read_only_roots_have_a_writable_home(d: Runtime) -> list[str]:
    """A container with a read-only root filesystem gets HOME from its image's passwd
    entry, or ``/`` when its user has none (our UID 10001): anything writing under HOME
    (npm, caches, libraries' config) fails with EROFS. HOME must be set to a path under a
    writable mount. (Hook Jobs run one known non-interactive command: left out.)

    Cite: https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
    (readOnlyRootFilesystem); opencontainers/runc libcontainer/init_linux.go (setupUser:
    HOME from the user's passwd entry, else the default user's "/").
    """
    found = []
    for env in d.envs:
        for workload in workloads(d, env):
            spec = pod_spec(workload)
            volumes = {v.get("name"): v for v in spec.get("volumes") or []}
            for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                if not (container.get("securityContext") or {}).get("readOnlyRootFilesystem"):
                    continue
                where = f"{named(env, workload)}: container {container.get('name')}"
                home = next(
                    (v.get("value") for v in container.get("env") or [] if v.get("name") == "HOME"),
                    None,
                )
                if not home:
                    found.append(f"{where}: read-only root and HOME is unset (/ is not writable)")
                elif not writable_mount(container, volumes, home):
                    found.append(f"{where}: HOME {home} is not under a writable mount")
    return found


# --- 12. protected load balancers ---------------------------------------------------------------

LB_ATTRIBUTES = {
    "Ingress": "alb.ingress.kubernetes.io/load-balancer-attributes",
    "Service": "service.beta.kubernetes.io/aws-load-balancer-attributes",
}


@rule
def protected_load_balancers_outlive_the_release(d: Runtime) -> list[str]:
    """An Ingress (or Service) whose load balancer has deletion protection cannot be
    deleted: the controller refuses ("deletion_protection is enabled, cannot delete the
    ingress") and its finalizer keeps it. ``helm uninstall`` (or a destroy of the stack)
    then hangs: the object must carry ``helm.sh/resource-policy: keep`` so Helm leaves it.

    Cite: kubernetes-sigs/aws-load-balancer-controller @ v3.5.0 pkg/ingress/
    model_builder.go line 305; https://helm.sh/docs/howto/charts_tips_and_tricks/
    #tell-helm-not-to-uninstall-a-resource.
    """
    found = []
    for env in d.envs:
        for _, doc in rendered(d, env):
            given = attributes(annotations(doc).get(LB_ATTRIBUTES.get(str(doc.get("kind")), "")))
            protected = given.get("deletion_protection.enabled") == "true"
            if protected and annotations(doc).get("helm.sh/resource-policy") != "keep":
                found.append(
                    f"{named(env, doc)}: deletion protection without helm.sh/resource-policy: "
                    "keep: uninstalling the release hangs on an object nobody can delete"
                )
    return found


# --- 13. credentials for the AWS callers ------------------------------------------------------


def aws_callers(d: Runtime, env: str) -> Iterator[tuple[str, str, str | None]]:
    """``(who, namespace, service account)`` of every pod that calls AWS: the marketplace
    services given a role (iamRoleArn) and the pinned charts that manage AWS resources."""
    marketplace = release(d, env, "kreo-marketplace")
    with_roles = {
        name
        for name, settings in (
            (marketplace.values if marketplace else {}).get("services") or {}
        ).items()
        if (settings or {}).get("iamRoleArn")
    }
    for workload in workloads(d, env, ("Deployment",)):
        if pod_labels(workload).get("app.kubernetes.io/name") in with_roles:
            account = pod_spec(workload).get("serviceAccountName", "default")
            yield named(env, workload), namespace_of(workload), account
    for (_, chart), key in d.facts.each("service_account_key"):
        installed = release(d, env, chart)
        if installed:
            yield installed.address, installed.namespace, value(installed.values, key) or None


@rule
def aws_callers_have_pod_identity(d: Runtime) -> list[str]:
    """A pod gets AWS credentials from EKS Pod Identity only if an association names its
    namespace and service account: otherwise every AWS call fails (AccessDenied / no
    credentials) at runtime, though the role and its policy exist. A chart that generates
    its service account's name cannot be associated reliably: the values name it.

    Cite: https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html;
    tests/runtime/runtime_facts.yaml (service_account_key: each chart's value, at its tag).
    """
    found = []
    for env in d.envs:
        associations = pod_identities(d, env)
        for who, ns, account in aws_callers(d, env):
            if account is None:
                found.append(f"{who}: its service account's name is left to the chart")
            elif (ns, account) not in associations:
                found.append(
                    f"{who}: no aws_eks_pod_identity_association for {ns}/{account}: "
                    "its pods get no AWS credentials"
                )
    return found


# --- 14. single-node volumes and rollouts ------------------------------------------------------


@rule
def rwo_volumes_roll_with_recreate(d: Runtime) -> list[str]:
    """A Deployment whose pod mounts a ReadWriteOnce (EBS) claim cannot surge: the new pod
    waits for a volume the old one holds on another node (Multi-Attach error), the old
    one waits for the new one to be ready, and the release times out (atomic: rolled
    back). Such a Deployment must use the Recreate strategy.

    Cite: https://kubernetes.io/docs/concepts/storage/persistent-volumes/#access-modes;
    https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#recreate-deployment;
    grafana-community/helm-charts @ grafana-12.11.1 charts/grafana/values.yaml lines 79-80.
    """
    found = []
    for env in d.envs:
        kps = release(d, env, KPS)
        default = d.facts.get("chart", KPS, "grafana_persistence")
        for workload, claim in persistent_claims(d, kps.values) if kps else []:
            strategy = value(kps.values, "grafana.deploymentStrategy.type", default["strategy"])
            rwo = "ReadWriteOnce" in as_list(claim.get("accessModes"))
            if workload == "grafana" and rwo and strategy != "Recreate":
                found.append(
                    f"{kps.address}: grafana keeps its data on a ReadWriteOnce claim and "
                    f"rolls out with {strategy}: the new pod waits for the old one's volume"
                )
        for doc in workloads(d, env, ("Deployment",)):
            claims = [v for v in pod_spec(doc).get("volumes") or [] if "persistentVolumeClaim" in v]
            strategy = ((doc.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate")
            if claims and strategy != "Recreate":
                found.append(f"{named(env, doc)}: mounts a claim and rolls out with {strategy}")
    return found


# --- 15. scrapes that reach their targets -------------------------------------------------------

PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}


def monitor_selectors(d: Runtime, kps: Release) -> tuple[dict, dict]:
    """Prometheus's effective (serviceMonitorSelector, serviceMonitorNamespaceSelector)."""
    defaults = d.facts.get("chart", KPS, "service_monitor_selection")
    spec = value(kps.values, "prometheus.prometheusSpec") or {}
    selector = spec.get("serviceMonitorSelector") or (
        {"matchLabels": {"release": kps.body.get("name")}}
        if spec.get(
            "serviceMonitorSelectorNilUsesHelmValues", defaults["selector_nil_uses_helm_values"]
        )
        else {}
    )
    return selector, spec.get("serviceMonitorNamespaceSelector") or defaults["namespace_selector"]


def monitored(d: Runtime, env: str, monitor: dict) -> Iterator[tuple[dict, tuple]]:
    """``(workload, container port)`` of every target a ServiceMonitor scrapes."""
    spec = monitor.get("spec") or {}
    for (ns, _), service in services(d, env).items():
        labels = metadata(service).get("labels") or {}
        if ns != namespace_of(monitor) or not matches(spec.get("selector"), labels):
            continue
        for endpoint in spec.get("endpoints") or []:
            entry = service_port(service, endpoint.get("port"))
            for target in service_targets(d, env, service) if entry else []:
                yield target, container_port(target, entry.get("targetPort", entry.get("port")))


@rule
def service_monitors_are_scraped(d: Runtime) -> list[str]:
    """A ServiceMonitor is only read if Prometheus selects it and its namespace (else its
    targets, and the alerts built on them, silently do not exist), and its targets are
    only reachable if their network policies admit Prometheus's namespace on the port.

    Cite: prometheus-community/helm-charts @ kube-prometheus-stack-88.5.3 values.yaml
    lines 4476-4491 and templates/prometheus/prometheus.yaml lines 193-208;
    https://kubernetes.io/docs/concepts/services-networking/network-policies/.
    """
    found: dict[str, None] = {}
    for env in d.envs:
        kps = release(d, env, KPS)
        if kps is None:
            continue
        selector, ns_selector = monitor_selectors(d, kps)
        prometheus = (kps.namespace, PROMETHEUS_POD)
        for monitor in objects(d, env, "ServiceMonitor"):
            where, ns = named(env, monitor), namespace_of(monitor)
            if not matches(selector, metadata(monitor).get("labels") or {}):
                found[f"{where}: not selected by Prometheus's serviceMonitorSelector"] = None
            if not matches(ns_selector, namespace_labels(d, env, ns)):
                found[f"{where}: {ns} is not in Prometheus's serviceMonitorNamespaceSelector"] = (
                    None
                )
            for target, port in monitored(d, env, monitor):
                if not policy_allows(d, env, "Ingress", pod(target), prometheus, port):
                    found[
                        f"{where}: the network policies of {metadata(target).get('name')} do "
                        f"not admit Prometheus ({kps.namespace}) on port {port[0] or port[1]}"
                    ] = None
    return list(found)


# --- the view, built once -------------------------------------------------------------------


CLUSTER_SCOPED = {
    "ClusterIssuer", "ClusterRole", "ClusterRoleBinding", "ClusterSecretStore",
    "CustomResourceDefinition", "IngressClass", "Namespace", "PriorityClass", "StorageClass",
}  # fmt: skip


def render(chart: str, installed: Release) -> list[dict[str, Any]]:
    """A local chart's documents as the release installs them (a namespaced object without
    a namespace lands in the release's)."""
    from tests.charts import render_documents

    documents = render_documents(
        CHARTS[chart], installed.values, name=installed.body.get("name"),
        namespace=installed.namespace,
    )  # fmt: skip
    for doc in documents:
        if doc.get("kind") not in CLUSTER_SCOPED:
            doc.setdefault("metadata", {}).setdefault("namespace", installed.namespace)
    return documents


def build(stacks: dict[str, dict[str, Any]]) -> Runtime:
    """The stacks, with both local charts rendered once per environment."""
    view = Runtime(stacks=stacks)
    for env in view.envs:
        for chart, target in (
            ("kreo-marketplace", view.manifests),
            ("kreo-platform", view.platform_manifests),
        ):
            installed = release(view, env, chart)
            if installed is not None:
                target[env] = render(chart, installed)
    return view


@pytest.fixture(scope="module")
def runtime(synthesis: Synthesis) -> Runtime:
    """The current synthesis, both charts rendered per environment, the facts."""
    return build({name: synthesis.stack(name) for name in synthesis.stack_names})


PRE_FIX: dict[str, dict[str, list[str] | None]] = {
    # stack layer: resource type to the resource names kept (None: all of that type)
    "platform": {
        "helm_release": [
            "aws-load-balancer-controller_release_F45BFDE2",
            "cluster-autoscaler_release_AA634CEF",
            "kube-prometheus-stack_release_B6F5993D",
            "metrics-server_release_C39FBFD5",
        ],
        "kubernetes_namespace_v1": None,
    },
    "cluster": {"aws_eks_node_group": None, "aws_eks_pod_identity_association": None},
    "app": {"kubernetes_namespace_v1": None},
    "edge": {"aws_wafv2_web_acl": ["regional-waf_acl_061504CF"]},
}


@functools.cache
def _pre_fix_stacks() -> str:
    return json.dumps(
        {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(PRE_FIX_DIR.glob("*.json"))
        }
    )


def pre_fix() -> Runtime:
    """Fragments of the synthesis at commit a946337; no manifests (the chart changed)."""
    return Runtime(stacks=json.loads(_pre_fix_stacks()))


PRE_FIX_ENV = pre_fix().envs[0]
"""An environment the fragments were recorded from (read from their stack names: the
names are recorded data): a pre-fix body put back lands there too."""


def extract_pre_fix(source: Path) -> None:
    """Write ``pre_fix/<stack>.json`` from the snapshot JSON files in ``source``."""
    for path in sorted(source.glob("kreo-*-*.json")):
        layer = ENV_STACK.match(path.stem)
        kept = PRE_FIX.get(layer["layer"]) if layer else None
        if not kept:
            continue
        stack = json.loads(path.read_text(encoding="utf-8"))
        fragment: dict[str, Any] = {
            "//": f"tests/__snapshots__/test_synthesized/test_snapshot[{path.stem}].json "
            f"at {PRE_FIX_COMMIT}, trimmed by python -m tests.test_runtime_rules",
            "resource": {},
        }
        for kind, names in kept.items():
            resources = stack.get("resource", {}).get(kind, {})
            chosen = {n: b for n, b in resources.items() if names is None or n in names}
            if chosen:
                fragment["resource"][kind] = chosen
        target = PRE_FIX_DIR / path.name
        target.write_text(json.dumps(fragment, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- derived variants -------------------------------------------------------------------------
# The current view with one defect put back in. Each edits a copy and fails loudly if
# the view no longer has what it edits (the rule's subject moved: fix the variant).


def _first(d: Runtime, kind: str, where: Callable[[dict], bool] = lambda b: True):
    for stack_name, name, body in each(d, kind):
        if where(body):
            return stack_name, name, body
    raise AssertionError(f"nothing to derive the variant from: no matching {kind}")


def _edit_values(d: Runtime, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the values of every environment's release ``name``."""
    edited = False
    for _, _, body in each(d, "helm_release"):
        if name in (body.get("name"), body.get("chart")):
            values = release_values(body)
            edit(values)
            body["values"] = [yaml.safe_dump(values)]
            body.pop("set", None)
            edited = True
    assert edited, f"nothing to derive the variant from: no release {name}"


def _docs(d: Runtime, kind: str) -> list[dict[str, Any]]:
    found = [
        doc
        for documents in (*d.manifests.values(), *d.platform_manifests.values())
        for doc in documents
        if doc.get("kind") == kind and not is_hook(doc)
    ]
    assert found, f"nothing to derive the variant from: no rendered {kind}"
    return found


def _containers(d: Runtime) -> list[dict[str, Any]]:
    return [c for doc in _docs(d, "Deployment") for c in pod_spec(doc).get("containers") or []]


def _pre_fix_resource(d: Runtime, kind: str, name: str) -> None:
    """Put back the pre-fix body of one resource (same address) in every environment."""
    replaced = False
    for stack_name, fragment in pre_fix().stacks.items():
        body = fragment["resource"].get(kind, {}).get(name)
        if body is not None and stack_name in d.stacks:
            assert name in d.stacks[stack_name]["resource"].get(kind, {}), f"{kind}.{name} moved"
            d.stacks[stack_name]["resource"][kind][name] = copy.deepcopy(body)
            replaced = True
    assert replaced, f"no pre-fix {kind}.{name}"


def _skip_local_storage_default(d: Runtime) -> None:
    _edit_values(d, CA, lambda v: v["extraArgs"].pop("skip-nodes-with-local-storage"))


def _release_without_namespace_order(d: Runtime) -> None:
    _, _, body = _first(d, "helm_release", lambda b: b.get("name") == "kreo-marketplace")
    body["depends_on"] = [r for r in body["depends_on"] if "namespace" not in r]


def _namespace_left_to_helm(d: Runtime) -> None:
    for stack_name, _, body in list(each(d, "helm_release")):
        if body.get("name") == "kreo-marketplace":
            d.stacks[stack_name]["resource"].pop("kubernetes_namespace_v1")


def _pre_fix_grace(d: Runtime) -> None:
    for doc in _docs(d, "Deployment"):
        pod_spec(doc)["terminationGracePeriodSeconds"] = 30
    for container in _containers(d):
        container.pop("lifecycle")


def _default_deregistration_delay(d: Runtime) -> None:
    for ingress in _docs(d, "Ingress"):
        ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-group-attributes"] = (
            "load_balancing.algorithm.type=least_outstanding_requests"
        )


def _long_pause(d: Runtime) -> None:
    for container in _containers(d):
        container["lifecycle"]["preStop"] = {"exec": {"command": ["/bin/sh", "-c", "sleep 90"]}}


def _upstream_alertmanager_config(d: Runtime) -> None:
    _edit_values(d, KPS, lambda v: v["alertmanager"].pop("config"))


def _alertmanager_without_identity(d: Runtime) -> None:
    for stack_name, name, body in list(each(d, "aws_eks_pod_identity_association")):
        if body.get("service_account") == "alertmanager":
            del d.stacks[stack_name]["resource"]["aws_eks_pod_identity_association"][name]


def _sns_without_region(d: Runtime) -> None:
    def edit(values: dict[str, Any]) -> None:
        for receiver in values["alertmanager"]["config"]["receivers"]:
            for sns in receiver.get("sns_configs") or []:
                sns.pop("sigv4")

    _edit_values(d, KPS, edit)


def _sns_default_subject(d: Runtime) -> None:
    def edit(values: dict[str, Any]) -> None:
        for receiver in values["alertmanager"]["config"]["receivers"]:
            for sns in receiver.get("sns_configs") or []:
                sns.pop("subject")

    _edit_values(d, KPS, edit)


def _sns_long_subject(d: Runtime) -> None:
    def edit(values: dict[str, Any]) -> None:
        for receiver in values["alertmanager"]["config"]["receivers"]:
            for sns in receiver.get("sns_configs") or []:
                sns["subject"] = sns["subject"].replace("{0,99}", "{0,150}")

    _edit_values(d, KPS, edit)


def _publish_elsewhere(d: Runtime) -> None:
    """Every environment's publisher loses sns:Publish."""
    edited = [
        body
        for _, _, body in each(d, "aws_iam_role_policy")
        if "sns:Publish" in str(body.get("policy"))
    ]
    assert edited, "nothing to derive the variant from: no policy allows sns:Publish"
    for body in edited:
        body["policy"] = body["policy"].replace("sns:Publish", "sns:GetTopicAttributes")


def _undefined_receiver(d: Runtime) -> None:
    _edit_values(
        d, KPS, lambda v: v["alertmanager"]["config"]["route"]["routes"][0].update(receiver="pager")
    )


def _scrape_kube_proxy(d: Runtime) -> None:
    _edit_values(d, KPS, lambda v: v.pop("kubeProxy"))


def _regional_node_group(d: Runtime) -> None:
    _, _, body = _first(d, "aws_eks_node_group")
    body["subnet_ids"] = [*body["subnet_ids"], "subnet-b", "subnet-c"]


def _unbalanced(d: Runtime) -> None:
    _edit_values(d, CA, lambda v: v["extraArgs"].pop("balance-similar-node-groups"))


def _immediate_binding(d: Runtime) -> None:
    for storage in _docs(d, "StorageClass"):
        storage["volumeBindingMode"] = "Immediate"


def _mixed_sizes(d: Runtime) -> None:
    _first(d, "aws_eks_node_group")[2]["instance_types"] = ["m7i.xlarge", "m6i.2xlarge"]


def _unknown_type(d: Runtime) -> None:
    _first(d, "aws_eks_node_group")[2]["instance_types"] = ["m7i.xlarge", "x9.huge"]


def _pdb_default_policy(d: Runtime) -> None:
    for pdb in _docs(d, "PodDisruptionBudget"):
        pdb["spec"].pop("unhealthyPodEvictionPolicy")


def _prometheus_pdb_if_healthy(d: Runtime) -> None:
    _edit_values(
        d,
        KPS,
        lambda v: v["prometheus"]["podDisruptionBudget"].update(
            unhealthyPodEvictionPolicy="IfHealthyBudget"
        ),
    )


def _regional_acl(d: Runtime) -> tuple[str, str, dict[str, Any]]:
    return _first(d, "aws_wafv2_web_acl", lambda b: b.get("scope") == "REGIONAL")


def _pre_fix_web_acl(d: Runtime) -> None:
    _pre_fix_resource(d, "aws_wafv2_web_acl", _regional_acl(d)[1])


def _transformations(d: Runtime) -> list[dict[str, Any]]:
    for entry in as_list(_regional_acl(d)[2]["rule"]):
        match = (entry.get("statement") or {}).get("byte_match_statement")
        if match and "block" in entry.get("action", {}):
            return match["text_transformation"]
    raise AssertionError("nothing to derive the variant from: no blocking byte match")


def _without_lowercase(d: Runtime) -> None:
    for _, _, body in each(d, "aws_wafv2_web_acl"):
        if body.get("scope") == "REGIONAL":
            for entry in as_list(body["rule"]):
                match = (entry.get("statement") or {}).get("byte_match_statement") or {}
                match["text_transformation"] = [
                    t for t in match.get("text_transformation", []) if t["type"] != "LOWERCASE"
                ]
    _transformations(d)


def _normalize_then_decode(d: Runtime) -> None:
    for transformation in _transformations(d):
        transformation["priority"] = {"URL_DECODE": 1, "NORMALIZE_PATH": 0}.get(
            transformation["type"], transformation["priority"]
        )


def _no_web_acl(d: Runtime) -> None:
    for ingress in _docs(d, "Ingress"):
        ingress["metadata"]["annotations"].pop("alb.ingress.kubernetes.io/wafv2-acl-arn")


def _urls_for_everyone(d: Runtime) -> None:
    """The pre-fix chart: every service's URL in the shared ConfigMap."""
    for documents in d.manifests.values():
        urls = {
            f"SERVICE_URL_{metadata(s)['name'].upper().replace('-', '_')}": (
                f"http://{metadata(s)['name']}:{s['spec']['ports'][0]['port']}"
            )
            for s in documents
            if s.get("kind") == "Service"
        }
        for config in documents:
            if config.get("kind") == "ConfigMap" and not is_hook(config):
                config.setdefault("data", {}).update(urls)


def _stale_allowance(d: Runtime) -> None:
    for container in _containers(d):
        container["env"] = [v for v in container["env"] if v["name"] != "SERVICE_URL_AUTH_SERVICE"]


def _home_unset(d: Runtime) -> None:
    for container in _containers(d):
        container["env"] = [v for v in container["env"] if v["name"] != "HOME"]


def _home_on_the_root(d: Runtime) -> None:
    for container in _containers(d):
        for variable in container["env"]:
            if variable["name"] == "HOME":
                variable["value"] = "/home/node"


def _protected_without_keep(d: Runtime) -> None:
    for ingress in _docs(d, "Ingress"):
        ingress["metadata"]["annotations"].pop("helm.sh/resource-policy", None)
        ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/load-balancer-attributes"] = (
            "deletion_protection.enabled=true"
        )


def _drop_association(service_account: str) -> Callable[[Runtime], None]:
    def mutate(d: Runtime) -> None:
        dropped = False
        for stack_name, name, body in list(each(d, "aws_eks_pod_identity_association")):
            if body.get("service_account") == service_account:
                del d.stacks[stack_name]["resource"]["aws_eks_pod_identity_association"][name]
                dropped = True
        assert dropped, f"nothing to derive the variant from: no association of {service_account}"

    return mutate


def _grafana_rolling(d: Runtime) -> None:
    _edit_values(d, KPS, lambda v: v["grafana"].pop("deploymentStrategy"))


def _monitoring_not_admitted(d: Runtime) -> None:
    for policy in _docs(d, "NetworkPolicy"):
        for entry in policy["spec"].get("ingress") or []:
            entry["from"] = [p for p in entry.get("from", []) if "namespaceSelector" not in p]


def _monitors_elsewhere(d: Runtime) -> None:
    _edit_values(
        d,
        KPS,
        lambda v: v["prometheus"]["prometheusSpec"].update(
            serviceMonitorNamespaceSelector={"matchLabels": {"team": "platform"}}
        ),
    )


BITES: dict[str, list[Bite]] = {
    "autoscaler_can_remove_nodes_with_local_storage": [
        Bite("Deployment metrics-server of metrics-server: local volumes tmp"),
        Bite("of kube-prometheus-stack: local volumes search, sc-dashboard-volume"),
        Bite(
            "Deployment kreo-marketplace/api-gateway: local volumes tmp",
            _skip_local_storage_default,
        ),
    ],
    "ip_targets_have_readiness_gates": [
        Bite(
            "is not labelled elbv2.k8s.aws/pod-readiness-gate-inject=enabled",
            lambda d: _pre_fix_resource(d, "kubernetes_namespace_v1", "namespace"),
        ),
        Bite(
            "does not depend on kubernetes_namespace_v1.namespace", _release_without_namespace_order
        ),
        Bite("IP targets in namespace kreo-marketplace, which no stack", _namespace_left_to_helm),
    ],
    "grace_period_outlasts_deregistration": [
        Bite("terminationGracePeriodSeconds 30 <= the deregistration delay 30 s", _pre_fix_grace),
        Bite("container api-gateway has no preStop pause", _pre_fix_grace),
        Bite("<= the deregistration delay 300 s", _default_deregistration_delay),
        Bite("preStop pause 90 s >= terminationGracePeriodSeconds 60", _long_pause),
    ],
    "alertmanager_notifies_someone": [
        Bite("B6F5993D: Alertmanager's route sends alerts to receiver 'null'"),
        Bite("to receiver 'null', which has no notifier", _upstream_alertmanager_config),
        Bite(
            "no aws_eks_pod_identity_association for monitoring/alertmanager",
            _alertmanager_without_identity,
        ),
        Bite("sns_configs without sigv4.region", _sns_without_region),
        Bite("no subject: the default lists every common label", _sns_default_subject),
        Bite("is not cut to 99 characters", _sns_long_subject),
        Bite(f"may not sns:Publish to kreo-{ENVIRONMENT_NAMES[0]}-alarms", _publish_elsewhere),
        Bite("the route names undefined receiver pager", _undefined_receiver),
    ],
    "no_scrapes_eks_never_exposes": [
        Bite("kube-prometheus-stack_release_B6F5993D: kubeControllerManager is enabled"),
        Bite("kubeEtcd is enabled"),
        Bite("kubeProxy is enabled", _scrape_kube_proxy),
    ],
    "zonal_workloads_have_zonal_node_groups": [
        Bite("node-group-general_node-group_64F6AEA0: spans 3 subnets; prometheus's"),
        Bite("spans 3 subnets", _regional_node_group),
        Bite("balance-similar-node-groups is not true", _unbalanced),
        Bite("StorageClass gp3: volumeBindingMode Immediate", _immediate_binding),
    ],
    "node_group_instance_types_match": [
        Bite("instance types of different shapes: m7i.xlarge 4 vCPU/16384 MiB", _mixed_sizes),
        Bite("unknown instance type x9.huge", _unknown_type),
    ],
    "pdbs_evict_unhealthy_pods": [
        Bite(
            "kreo-marketplace/api-gateway: unhealthyPodEvictionPolicy IfHealthyBudget",
            _pdb_default_policy,
        ),
    ],
    "platform_pdbs_evict_unhealthy_pods": [
        Bite("metrics-server_release_C39FBFD5: podDisruptionBudget without"),
        Bite(
            "prometheus.podDisruptionBudget without unhealthyPodEvictionPolicy AlwaysAllow",
            _prometheus_pdb_if_healthy,
        ),
    ],
    "metrics_not_public": [
        Bite(
            f"api-gateway's /metrics is public: web ACL kreo-{PRE_FIX_ENV}-edge: "
            "aws_wafv2_web_acl.regional-waf_acl_061504CF has no rule blocking /metrics",
            _pre_fix_web_acl,
        ),
        Bite("without LOWERCASE", _without_lowercase),
        Bite("decodes after normalizing", _normalize_then_decode),
        Bite("the Ingress names no web ACL", _no_web_acl),
    ],
    "calls_match_network_policies": [
        Bite(
            "auth-service: SERVICE_URL_ORDER_SERVICE: no egress policy lets it call order-service",
            _urls_for_everyone,
        ),
        Bite(
            "the ingress policies of order-service do not admit it on port 3005", _urls_for_everyone
        ),
        Bite(
            "allows api-gateway to call auth-service, and api-gateway has no SERVICE_URL_",
            _stale_allowance,
        ),
    ],
    "read_only_roots_have_a_writable_home": [
        Bite("container api-gateway: read-only root and HOME is unset", _home_unset),
        Bite("HOME /home/node is not under a writable mount", _home_on_the_root),
    ],
    "protected_load_balancers_outlive_the_release": [
        Bite(
            "kreo-marketplace-api: deletion protection without helm.sh/resource-policy: keep",
            _protected_without_keep,
        ),
    ],
    "aws_callers_have_pod_identity": [
        Bite(
            "no aws_eks_pod_identity_association for kreo-marketplace/auth-service",
            _drop_association("auth-service"),
        ),
        Bite(
            "external-dns_release_90291C33: no aws_eks_pod_identity_association for external-dns/",
            _drop_association("external-dns"),
        ),
    ],
    "rwo_volumes_roll_with_recreate": [
        Bite(
            "grafana keeps its data on a ReadWriteOnce claim and rolls out with RollingUpdate",
            _grafana_rolling,
        ),
    ],
    "service_monitors_are_scraped": [
        Bite("do not admit Prometheus (monitoring) on port 3000", _monitoring_not_admitted),
        Bite(
            "kreo-marketplace is not in Prometheus's serviceMonitorNamespaceSelector",
            _monitors_elsewhere,
        ),
    ],
}

KNOWN_DEFECTS: dict[str, str] = {}
"""Rules the current output still violates: strict xfail, so fixing the output fails the
test until the entry is removed."""


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[n]))
        if n in KNOWN_DEFECTS
        else n
        for n in sorted(RULES)
    ],
)
def test_rule_holds(runtime: Runtime, name: str) -> None:
    """No violation of the rule in the current output."""
    assert RULES[name](runtime) == []


@pytest.mark.parametrize(**bite_cases(BITES, derived=False))
def test_rule_bites_pre_fix(name: str, bite: Bite) -> None:
    """The rule reports the defect the output at commit a946337 had."""
    violations = RULES[name](pre_fix())
    assert any(bite.expect in v for v in violations), violations


@pytest.mark.parametrize(**bite_cases(BITES, derived=True))
def test_rule_bites_derived(runtime: Runtime, name: str, bite: Bite) -> None:
    """The rule reports the defect put back into a copy of the current view."""
    assert bite.derive is not None
    variant = runtime.copy()
    bite.derive(variant)
    violations = RULES[name](variant)
    assert any(bite.expect in v for v in violations), violations


def test_every_rule_bites_and_cites() -> None:
    """Every rule has a derived bite and a citation; every bite belongs to a rule."""
    assert CATALOGUE.uncovered(BITES, derived=True) == []


def test_the_view_has_what_the_rules_read(runtime: Runtime) -> None:
    """Every environment has its releases, node groups and rendered objects: a rule over
    an empty view would hold vacuously."""
    assert runtime.envs == sorted(ENVIRONMENT_NAMES)
    for env in runtime.envs:
        assert all(release(runtime, env, n) for n in (CA, KPS, LBC, "kreo-marketplace"))
        assert list(each(runtime, "aws_eks_node_group", env))
        kinds = {doc.get("kind") for _, doc in rendered(runtime, env)}
        expected = {"Deployment", "Ingress", "Service", "ServiceMonitor", "NetworkPolicy"}
        assert expected | {"PodDisruptionBudget", "StorageClass", "ConfigMap"} <= kinds


def test_pre_fix_fragments_come_from_the_recorded_commit() -> None:
    """Each fragment says where it comes from (``python -m tests.test_runtime_rules``)."""
    recorded = pre_fix()
    stacks = recorded.stacks
    # The environments are read from the fragments' names (recorded data); each has
    # every layer PRE_FIX keeps, and is one of config/'s.
    assert recorded.envs
    assert set(recorded.envs) <= set(ENVIRONMENT_NAMES)
    assert sorted(stacks) == sorted(
        f"kreo-{env}-{layer}" for env in recorded.envs for layer in PRE_FIX
    )
    assert all(f"at {PRE_FIX_COMMIT}" in stack["//"] for stack in stacks.values())


def _pins() -> dict[tuple[str, str], str]:
    """The versions config/ pins, read from each environment's config (the facts are read
    at one version: every environment must pin the same)."""
    per_environment = []
    for config in load_environments(CONFIG_DIR):
        cluster = config.cluster
        pins = {("chart", n): str(c.version) for n, c in config.platform.charts.items()}
        pins |= {("addon", n): str(v) for n, v in cluster.addons.items()}
        minor = str(cluster.kubernetes_version)
        pins |= {("kubernetes", n): minor for n in ("pod", "policy", "storage")}
        per_environment.append(pins | {("eks", "control-plane"): minor})
    first, *others = per_environment
    assert all(other == first for other in others), "environments pin different versions"
    return first


def test_runtime_facts_match_the_pins() -> None:
    """Every fact row was read at the version config/ pins: a pin that moves
    fails here until its rows are re-read at the new tag (and their version updated)."""
    pins = _pins()
    rows = load_facts().rows
    stale = [
        f"{subject(r)} {r['fact']}: read at {r.get('version')}, pinned {pins.get(subject(r))}"
        for r in rows
        if subject(r)[0] != "aws" and str(r.get("version")) != pins.get(subject(r))
    ]
    assert stale == []
    assert [r["fact"] for r in rows if subject(r)[0] == "aws" and "version" in r] == []


def test_runtime_facts_say_where_they_were_read() -> None:
    """Every row has a value and a source: repository @ tag (with a line), or a page."""
    for row in load_facts().rows:
        source = str(row.get("read_from", ""))
        assert "value" in row, row
        cited = (" @ " in source and "line" in source) or "https://" in source
        assert cited or re.search(r"[\w-]+/[\w.-]+#\d+", source), row


def test_upstream_facts_the_rules_read_match_the_pins() -> None:
    """The upstream.yaml rows the rules read facts from are at the pinned versions."""
    pins = _pins()
    upstream = load_facts().upstream
    for chart in (CA, KPS):
        assert str(upstream["charts"][chart]["version"]) == pins[("chart", chart)]


if __name__ == "__main__":
    # python -m tests.test_runtime_rules <dir of kreo-<env>-<layer>.json snapshots>
    extract_pre_fix(Path(sys.argv[1]))
