"""The add-on registry: every third-party Helm chart the platform layer releases.

One module per add-on (``<name>.py``, like cdk-eks-blueprints'
``lib/addons/<name>/index.ts``) holds all of it: its namespace and service
account (:class:`~kreo_infra.workloads.Workload`), its IAM statements if it
calls AWS, its values and what it waits for; the module's docstring is its
documentation. The config holds only its pin (``platform.charts.<name>`` in
config/defaults.yaml). The cluster stack creates a Pod Identity role for every
add-on with statements and the platform stack a namespace and a release for
every add-on, both by iterating :data:`REGISTRY`.

Adding an add-on: a module here, named after it (``-`` as ``_``), that defines
``ADDON = Addon(...)``; its pin in config/defaults.yaml; a test module for its
values (tests/kreo_infra/platform/addons/test_<module>.py). The registry finds
the module itself (modules named ``_*`` are shared helpers, not add-ons), and the
generic tests (test_registry.py) check the rest. Besides, as for any chart pin,
the runtime tests ask for the chart's upstream records (its workloads' requests
in tests/runtime/upstream.yaml, its default values under
tests/apply_rules/chart_values/), and the snapshots, diagrams and review example
are regenerated (``pytest --snapshot-update``, ``make diagram review-example
resource-map``).

Pure data and functions: nothing here imports cdktf or the providers, so
main.py passes the registry's names to the config loader, which checks the pins,
before cdktf and the providers are loaded.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from kreo_infra.errors import PropsError
from kreo_infra.platform.values import Values
from kreo_infra.security.iam import Statement
from kreo_infra.workloads import Workload

PLATFORM_CHART = "kreo-platform"
"""The local chart charts/kreo-platform (the gp3 StorageClass, the load balancer
admission policy, the ClusterSecretStore, Grafana's admin secret): released by
the platform stack as soon as :data:`PLATFORM_CHART_AFTER` are. An add-on's
``after`` may name it."""

PLATFORM_CHART_AFTER = ("cert-manager", "external-secrets")
"""What the local chart's resources need first: the CRDs of these releases."""

SYSTEM_NAMESPACE = "kube-system"
"""Exists in every cluster: no add-on creates it."""


@dataclass(frozen=True)
class IdentityInputs:
    """What an add-on's IAM statements may name (the cluster layer passes them)."""

    partition: str
    region: str
    account_id: str
    cluster_name: str
    zone_id: str
    """The environment's public hosted zone (edge layer)."""
    record_hosts: tuple[str, ...]
    """The host names whose records external-dns may write (the API's)."""
    alarm_topic: str
    """The name of the SNS topic alerts go to (the observability layer creates it,
    after the cluster layer: statements name it, not its ARN)."""
    secrets_prefix: str
    """The environment's Secrets Manager name prefix (``<project>/<env>/``)."""


@dataclass(frozen=True)
class ReleaseInputs:
    """What an add-on's values may use (the platform layer passes them)."""

    cluster_name: str
    region: str
    vpc_id: str
    """The VPC the cluster runs in (network layer)."""
    domain: str
    """The environment's DNS domain (``dns.domain``)."""
    zone_id: str
    """The environment's public hosted zone (edge layer)."""
    alert_topic_arn: str
    """The SNS topic Alertmanager publishes to (created by the observability layer,
    after this one: Alertmanager retries until it exists)."""
    prometheus_retention: str
    prometheus_storage_gb: int
    external_dns_policy: str
    """``upsert-only`` or ``sync`` (``platform.external_dns_policy``)."""


@dataclass(frozen=True)
class Addon:
    """One Helm add-on: what the cluster and platform layers need to run it.

    ``name`` is the release's name, its construct id and its key under
    ``platform.charts`` (never rename it: it is part of a Terraform address).
    ``workload`` is the service account the chart creates, in the namespace the
    release goes to; ``service_account_key`` is where the values name it (empty
    when the chart's default name is kept). ``values`` builds the chart's values.

    ``statements`` (default none: the add-on calls no AWS API) are its IAM
    permissions: the cluster layer creates a Pod Identity role for it, construct
    id ``role_id`` (default ``workload.name``), bound to its service account.
    ``after`` names the releases it waits for (earlier add-ons, or
    :data:`PLATFORM_CHART`). With ``creates_namespace`` (default off: its
    namespace exists already, like ``kube-system``) the platform stack creates
    ``workload.namespace`` (construct ``namespace-<namespace>``) and the release
    waits for it.
    """

    name: str
    workload: Workload
    values: Callable[[ReleaseInputs], Values]
    service_account_key: tuple[str, ...] = ()
    statements: Callable[[IdentityInputs], list[Statement]] | None = None
    role_id: str | None = None
    after: tuple[str, ...] = ()
    creates_namespace: bool = False

    def __post_init__(self) -> None:
        if self.name in self.after:
            raise PropsError("Addon", "after", self.after, f"{self.name} cannot wait for itself")
        if self.role_id is not None and self.statements is None:
            raise PropsError("Addon", "role_id", self.role_id, "give statements for a role")
        if self.creates_namespace and self.workload.namespace == SYSTEM_NAMESPACE:
            raise PropsError(
                "Addon", "creates_namespace", True, f"{SYSTEM_NAMESPACE} exists in every cluster"
            )

    @property
    def identity_id(self) -> str:
        """The construct id of its Pod Identity role in the cluster stack."""
        return self.role_id or self.workload.name


def install_order(found: Iterable[Addon]) -> tuple[Addon, ...]:
    """``found`` in an order that installs each add-on after what it waits for:
    by name, each preceded by the add-ons its ``after`` names (for
    :data:`PLATFORM_CHART`, those of :data:`PLATFORM_CHART_AFTER`)."""
    by_name: dict[str, Addon] = {}
    for addon in found:
        if by_name.setdefault(addon.name, addon) is not addon:
            raise PropsError("Addon", "name", addon.name, "name each add-on once")
    ordered: dict[str, Addon] = {}

    def visit(addon: Addon, chain: tuple[str, ...]) -> None:
        if addon.name in chain:
            cycle = " -> ".join([*chain, addon.name])
            raise PropsError(addon.name, "after", addon.after, f"wait for no cycle ({cycle})")
        for waited in addon.after:
            for name in PLATFORM_CHART_AFTER if waited == PLATFORM_CHART else (waited,):
                if name not in by_name:
                    raise PropsError(
                        addon.name,
                        "after",
                        addon.after,
                        f"name add-ons ({', '.join(sorted(by_name))}) or {PLATFORM_CHART}",
                    )
                if name not in ordered:
                    visit(by_name[name], (*chain, addon.name))
        ordered.setdefault(addon.name, addon)

    for name in sorted(by_name):
        visit(by_name[name], ())
    return tuple(ordered.values())


def _discover() -> list[Addon]:
    """``ADDON`` of every module of this package whose name does not start with ``_``
    (the modules import the types above)."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_"):
            continue  # helpers add-ons may share (``_common.py``): not add-ons
        try:
            loaded = importlib.import_module(f"{__name__}.{module.name}")
        except Exception as error:  # one line for main.py, not a traceback
            raise PropsError(
                f"{__name__}.{module.name}", "import", type(error).__name__, str(error)
            ) from error
        addon = getattr(loaded, "ADDON", None)
        if not isinstance(addon, Addon) or addon.name.replace("-", "_") != module.name:
            raise PropsError(
                f"{__name__}.{module.name}",
                "ADDON",
                addon,
                "define ADDON = Addon(...) named after the module (- for _)",
            )
        found.append(addon)
    return found


REGISTRY: tuple[Addon, ...] = install_order(_discover())
"""Every add-on (every module of this package), in install order (:func:`install_order`)."""


def addon_names() -> list[str]:
    """The add-ons' names: exactly the keys ``platform.charts`` must pin."""
    return [addon.name for addon in REGISTRY]


def pin_problem(pinned: Collection[str]) -> str | None:
    """What is wrong with the chart pins ``pinned`` (their names), or None.

    Every registered add-on needs a pin and every pin an add-on: a pin without
    one would be silently ignored, an add-on without one cannot be released.
    """
    names = addon_names()
    missing = [name for name in names if name not in pinned]
    unknown = sorted(name for name in pinned if name not in names)
    problems = []
    if missing:
        problems.append(f"pin a chart version for {', '.join(missing)}")
    if unknown:
        problems.append(
            f"no add-on named {', '.join(unknown)} (kreo_infra/platform/addons/); "
            f"the add-ons are {', '.join(names)}"
        )
    return "; ".join(problems) or None
