"""Kubernetes names several layers agree on: namespaces, service accounts, labels.

A building block, not a layer: the cluster layer binds IAM roles to these
service accounts, the platform and app layers' charts create them, and the
edge and observability layers name what the charts make (the Ingress, the
metrics path). Each name is written here once so no layer imports another to
learn it. Add-on service accounts live with their add-on
(:mod:`kreo_infra.platform.addons`); the ones here belong to no add-on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    """A Kubernetes service account that gets AWS permissions.

    The namespace and service account are a contract with the Helm releases
    (platform layer) and the marketplace chart (app layer), which create them.
    ``name`` names its IAM role (``<cluster>-<name>``).
    """

    name: str
    namespace: str
    service_account: str


APP_NAMESPACE = "kreo-marketplace"
"""The namespace of the marketplace services (the app layer creates it)."""

MONITORING_NAMESPACE = "monitoring"
"""Prometheus, Alertmanager and Grafana (kube-prometheus-stack, platform layer)."""

PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
"""Labels the Prometheus Operator puts on every Prometheus pod: what the services'
network policies admit from the monitoring namespace (nothing else there)."""

INGRESS_CLASS = "alb"
"""The AWS Load Balancer Controller's IngressClass (its chart's ``ingressClass``
default; the admission policy of charts/kreo-platform guards Ingresses of this
class, and the marketplace's Ingress names it)."""

ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
"""TLS 1.3 and 1.2 only, restricted ciphers: the seed's `ssl_protocols TLSv1.2 TLSv1.3`.
The controller's default and the marketplace Ingress's annotation alike."""

INGRESS_NAME = "kreo-marketplace-api"
"""The marketplace chart's Ingress (``<release>-api``); the controller tags the ALB
with it, which is how the observability layer finds the load balancer."""

METRICS_PATH = "/metrics"
"""Where every service serves Prometheus metrics, on its API port (the image
contract, charts/kreo-marketplace/README.md). Prometheus scrapes it in the
cluster; the API's web ACL blocks it from the internet (edge layer)."""

SECRET_STORE = "aws-secrets-manager"  # noqa: S105 - a ClusterSecretStore name
"""The ClusterSecretStore of charts/kreo-platform (platform layer), which the
marketplace's ExternalSecrets name (app layer)."""

PRODUCT_SERVICE = Workload("product-service", APP_NAMESPACE, "product-service")
"""The marketplace service that reads and writes media: its role comes from the
cluster layer because the data layer's search domain and bucket name it."""

# The EKS managed add-ons' service accounts (cluster layer; each add-on binds
# its role itself).
EBS_CSI_DRIVER = Workload("ebs-csi-driver", "kube-system", "ebs-csi-controller-sa")
VPC_CNI = Workload("vpc-cni", "kube-system", "aws-node")
CLOUDWATCH_AGENT = Workload("cloudwatch-agent", "amazon-cloudwatch", "cloudwatch-agent")
