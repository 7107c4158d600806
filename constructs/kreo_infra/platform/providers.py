"""The Kubernetes and Helm providers of a stack that deploys into the cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_helm.provider import (
    HelmProvider,
    HelmProviderKubernetes,
    HelmProviderKubernetesExec,
)
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider, KubernetesProviderExec
from constructs import Construct

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"

HELM_DRIVER = "configmap"
"""Where Helm keeps its release records: ConfigMaps, not Secrets (Helm's default),
so the pull requests' plan role refreshes releases with the view policy, which
reads no Secrets. A record holds the release's values and rendered manifests:
no release may carry a secret value (secrets reach pods through
external-secrets)."""


@dataclass(frozen=True)
class ClusterProviders:
    kubernetes: KubernetesProvider
    helm: HelmProvider


def cluster_providers(
    stack: Construct,
    *,
    cluster_name: str,
    region: str,
    endpoint: str,
    ca_data: str,
    pin: Callable[[str], None],
) -> ClusterProviders:
    """Kubernetes and Helm providers (ids ``kubernetes``, ``helm``) for one cluster,
    each pinned by ``pin`` (the stack's ``pin_provider``: the versions in config).

    They reach the API at ``endpoint`` with the cluster's CA (base64 ``ca_data``)
    and authenticate with a short-lived token from ``aws eks get-token``, run at
    plan and apply time with the caller's AWS credentials: no kubeconfig file,
    and no token in any stack's configuration or state. Helm stores its release
    records in ConfigMaps (``HELM_DRIVER``).
    """
    token_args = ["eks", "get-token", "--cluster-name", cluster_name, "--region", region]
    ca_certificate = Fn.base64decode(ca_data)
    kubernetes = KubernetesProvider(
        stack,
        "kubernetes",
        host=endpoint,
        cluster_ca_certificate=ca_certificate,
        exec=[KubernetesProviderExec(api_version=EXEC_API_VERSION, command="aws", args=token_args)],
    )
    helm = HelmProvider(
        stack,
        "helm",
        helm_driver=HELM_DRIVER,
        kubernetes=HelmProviderKubernetes(
            host=endpoint,
            cluster_ca_certificate=ca_certificate,
            exec=HelmProviderKubernetesExec(
                api_version=EXEC_API_VERSION, command="aws", args=token_args
            ),
        ),
    )
    pin("kubernetes")
    pin("helm")
    return ClusterProviders(kubernetes=kubernetes, helm=helm)
