"""metrics-server: the resource metrics API (``metrics.k8s.io``).

What: the cluster-wide aggregator of the kubelets' CPU and memory readings,
served as the resource metrics API.

Why: ``kubectl top`` and every HorizontalPodAutoscaler of the marketplace read
it; without it the services never scale out. It calls no AWS API (no role).

Values that matter: two replicas and a disruption budget that evicts an
unhealthy replica (the API stays up through a node drain), and the requests of
:data:`~kreo_infra.platform.values.RESOURCES` (the capacity model adds them up).
https://github.com/kubernetes-sigs/metrics-server/tree/metrics-server-helm-chart-3.13.1/charts/metrics-server
"""

from __future__ import annotations

from kreo_infra.platform.addons import SYSTEM_NAMESPACE, Addon, ReleaseInputs
from kreo_infra.platform.values import CONTROLLER_REPLICAS, EVICT_UNHEALTHY, PDB, Values, resources
from kreo_infra.workloads import Workload

WORKLOAD = Workload("metrics-server", SYSTEM_NAMESPACE, "metrics-server")
"""The chart's own service account (its default name), with no AWS role."""


def values(_: ReleaseInputs) -> Values:
    return {
        "replicas": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {**PDB, **EVICT_UNHEALTHY},
        "resources": resources("metrics-server"),
    }


ADDON = Addon(name="metrics-server", workload=WORKLOAD, values=values)
