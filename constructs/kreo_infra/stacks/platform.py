"""``kreo-<env>-platform``: the cluster add-ons, as pinned Helm releases."""

from __future__ import annotations

from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1, NamespaceV1Metadata
from constructs import Construct

from kreo_infra.cluster.workload_identity import (
    CERT_MANAGER,
    EXTERNAL_DNS,
    EXTERNAL_SECRETS,
)
from kreo_infra.config import EnvironmentConfig
from kreo_infra.platform import values
from kreo_infra.platform.providers import cluster_providers
from kreo_infra.platform.release import PinnedRelease
from kreo_infra.stacks.cluster import ClusterStack
from kreo_infra.stacks.edge import EdgeStack
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.network import NetworkStack
from kreo_infra.tags import backup_tags

PLATFORM_CHART = "kreo-platform"


class PlatformStack(KreoStack):
    """Load balancing, certificates, monitoring, autoscaling, secrets and DNS.

    The Helm and Kubernetes providers reach the cluster through the cluster
    stack's endpoint and CA (cross-stack references) and authenticate with a
    short-lived token from ``aws eks get-token`` at plan and apply time: no
    kubeconfig file, and no token ever passes between stacks or into state.
    """

    layer = "platform"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        network: NetworkStack,
        edge: EdgeStack,
        cluster: ClusterStack,
        charts_dir: Path,
    ) -> None:
        super().__init__(scope, config=config)
        name, region = config.cluster_name, config.region
        providers = cluster_providers(
            self,
            cluster_name=name,
            region=region,
            endpoint=cluster.cluster_endpoint,
            ca_data=cluster.cluster_ca_data,
        )
        self.kubernetes, self.helm = providers.kubernetes, providers.helm
        self.pin_provider("kubernetes")
        self.pin_provider("helm")

        self.namespaces = {
            namespace: NamespaceV1(
                self,
                f"namespace-{namespace}",
                metadata=NamespaceV1Metadata(
                    name=namespace, labels={"app.kubernetes.io/managed-by": "kreo-infra"}
                ),
                provider=self.kubernetes,
            )
            for namespace in (
                CERT_MANAGER.namespace,
                EXTERNAL_SECRETS.namespace,
                EXTERNAL_DNS.namespace,
                values.MONITORING_NAMESPACE,
            )
        }
        charts = config.platform.charts
        platform = config.platform

        def release(
            id: str, namespace: str, release_values: values.Values, after=()
        ) -> PinnedRelease:
            dependencies = [*after]
            if namespace in self.namespaces:
                dependencies.append(self.namespaces[namespace])
            return PinnedRelease(
                self,
                id,
                name=id,
                namespace=namespace,
                chart=charts[id],
                values=release_values,
                provider=self.helm,
                depends_on=[d.release if isinstance(d, PinnedRelease) else d for d in dependencies],
            )

        metrics = release("metrics-server", "kube-system", values.metrics_server())
        certs = release("cert-manager", CERT_MANAGER.namespace, values.cert_manager())
        # Its webhook certificate comes from cert-manager, never from the chart's
        # own template: Helm's release record (a ConfigMap, readable with the
        # view policy) would otherwise hold the webhook's private key.
        alb = release(
            "aws-load-balancer-controller",
            "kube-system",
            values.load_balancer_controller(
                cluster_name=name, region=region, vpc_id=network.vpc_id
            ),
            after=[certs],
        )
        eso = release("external-secrets", EXTERNAL_SECRETS.namespace, values.external_secrets())

        chart_asset = TerraformAsset(
            self,
            "platform-chart",
            path=str(charts_dir / PLATFORM_CHART),
            type=AssetType.DIRECTORY,
        )
        self.platform_resources = PinnedRelease(
            self,
            PLATFORM_CHART,
            name=PLATFORM_CHART,
            namespace="kube-system",
            local_chart_path=chart_asset.path,
            values=values.platform_resources(
                region=region,
                volume_tags=backup_tags(config),
                grafana_admin_key=f"{config.secrets_prefix}{platform.grafana_admin_secret}",
                volume_key_arn=cluster.volume_key_arn,
                web_acl_arn=edge.regional_web_acl_arn,
            ),
            provider=self.helm,
            # The CRDs (external-secrets) and the monitoring namespace must
            # exist before these resources.
            depends_on=[certs.release, eso.release, self.namespaces[values.MONITORING_NAMESPACE]],
        )
        monitoring = release(
            "kube-prometheus-stack",
            values.MONITORING_NAMESPACE,
            values.kube_prometheus_stack(
                retention=platform.prometheus_retention,
                storage_gb=platform.prometheus_storage_gb,
                # The observability layer creates the topic (after this one):
                # Alertmanager retries until it exists.
                alert_topic_arn=self.account.sns_topic_arn(config.alarm_topic_name),
                region=region,
            ),
            # The gp3 StorageClass and Grafana's admin secret come first.
            after=[self.platform_resources],
        )
        dns = release(
            "external-dns",
            EXTERNAL_DNS.namespace,
            values.external_dns(
                domain=config.dns.domain,
                zone_id=edge.zone_id,
                policy=platform.external_dns_policy,
                owner_id=name,
                region=region,
            ),
            after=[alb],
        )
        autoscaler = release(
            "cluster-autoscaler",
            "kube-system",
            values.cluster_autoscaler(cluster_name=name, region=region),
            after=[metrics],
        )
        self.releases = {
            r.release.name: r
            for r in (
                metrics,
                alb,
                eso,
                certs,
                self.platform_resources,
                monitoring,
                dns,
                autoscaler,
            )
        }
