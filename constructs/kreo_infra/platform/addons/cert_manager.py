"""cert-manager: X.509 certificates as Kubernetes resources.

What: issues and renews certificates into Secrets, from the ``Certificate``
and ``Issuer`` resources (CRDs) it installs.

Why: it issues the AWS Load Balancer Controller's webhook certificate
(``enableCertManager``): without it the controller's chart would render the
webhook's private key into its templates, which Helm's release record (a
ConfigMap, readable with the view policy) would then hold. Nothing else asks
it for a certificate, so it has no issuer of ours and no AWS role
(docs/decisions.md).

Values that matter: the CRDs are installed with the release and kept when it
is uninstalled (``crds.keep``: deleting them would delete every certificate);
the controller, webhook and CA injector each run two replicas with a
disruption budget that evicts an unhealthy replica.
https://github.com/cert-manager/cert-manager/tree/v1.21.1/deploy/charts/cert-manager
"""

from __future__ import annotations

from kreo_infra.platform.addons import Addon, ReleaseInputs
from kreo_infra.platform.values import CONTROLLER_REPLICAS, EVICT_UNHEALTHY, PDB, Values, resources
from kreo_infra.workloads import Workload

WORKLOAD = Workload("cert-manager", "cert-manager", "cert-manager")
"""The chart's own service account (its default name), with no AWS role."""


def values(_: ReleaseInputs) -> Values:
    def component(workload: str) -> Values:
        return {
            "replicaCount": CONTROLLER_REPLICAS,
            "podDisruptionBudget": {**PDB, **EVICT_UNHEALTHY},
            "resources": resources(workload),
        }

    return {
        "crds": {"enabled": True, "keep": True},
        **component("cert-manager"),
        "webhook": component("cert-manager-webhook"),
        "cainjector": component("cert-manager-cainjector"),
    }


ADDON = Addon(name="cert-manager", workload=WORKLOAD, values=values, creates_namespace=True)
