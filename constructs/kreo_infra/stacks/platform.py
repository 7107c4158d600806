"""``kreo-<env>-platform``: the cluster add-ons, as pinned Helm releases."""

from __future__ import annotations

from pathlib import Path

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1, NamespaceV1Metadata
from constructs import Construct

from kreo_infra.config import EnvironmentConfig
from kreo_infra.errors import PropsError
from kreo_infra.platform.addons import (
    PLATFORM_CHART,
    PLATFORM_CHART_AFTER,
    REGISTRY,
    SYSTEM_NAMESPACE,
    Addon,
    ReleaseInputs,
    pin_problem,
)
from kreo_infra.platform.providers import cluster_providers
from kreo_infra.platform.release import PinnedRelease, local_chart_release
from kreo_infra.platform.values import platform_resources
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import ClusterOutputs, EdgeOutputs, NetworkOutputs
from kreo_infra.tags import backup_tags
from kreo_infra.workloads import MONITORING_NAMESPACE

PLATFORM_CHART_ASSET = "platform-chart"
"""The construct id of the local chart's asset (its directory in cdktf.out)."""


class PlatformStack(KreoStack):
    """Load balancing, certificates, monitoring, autoscaling, secrets and DNS.

    One release per add-on of :data:`~kreo_infra.platform.addons.REGISTRY`, in
    its order, at the version pinned in ``platform.charts``, each after the
    releases it names and its namespace (created here when the add-on says
    so); the local chart charts/kreo-platform as soon as the releases it waits
    for are (:data:`~kreo_infra.platform.addons.PLATFORM_CHART_AFTER`).

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
        network: NetworkOutputs,
        edge: EdgeOutputs,
        cluster: ClusterOutputs,
        charts_dir: Path,
    ) -> None:
        # main.py reports this as a config error first; this guards other callers.
        problem = pin_problem(config.platform.charts)
        if problem:
            raise PropsError(
                "PlatformStack", "config.platform.charts", sorted(config.platform.charts), problem
            )
        super().__init__(scope, config=config)
        name, region, platform = config.cluster_name, config.region, config.platform
        providers = cluster_providers(
            self,
            cluster_name=name,
            region=region,
            endpoint=cluster.cluster_endpoint,
            ca_data=cluster.cluster_ca_data,
            pin=self.pin_provider,
        )
        self.kubernetes, self.helm = providers.kubernetes, providers.helm

        self.namespaces: dict[str, NamespaceV1] = {}
        for namespace in dict.fromkeys(
            a.workload.namespace for a in REGISTRY if a.creates_namespace
        ):
            self.namespaces[namespace] = NamespaceV1(
                self,
                f"namespace-{namespace}",
                metadata=NamespaceV1Metadata(
                    name=namespace, labels={"app.kubernetes.io/managed-by": "kreo-infra"}
                ),
                provider=self.kubernetes,
            )

        inputs = ReleaseInputs(
            cluster_name=name,
            region=region,
            vpc_id=network.vpc_id,
            domain=config.dns.domain,
            zone_id=edge.zone_id,
            alert_topic_arn=self.account.sns_topic_arn(config.alarm_topic_name),
            prometheus_retention=platform.prometheus_retention,
            prometheus_storage_gb=platform.prometheus_storage_gb,
            external_dns_policy=platform.external_dns_policy,
        )
        self.releases: dict[str, PinnedRelease] = {}
        for addon in REGISTRY:
            self.releases[addon.name] = self._release(addon, inputs)
            if PLATFORM_CHART not in self.releases and all(
                n in self.releases for n in PLATFORM_CHART_AFTER
            ):
                self.releases[PLATFORM_CHART] = local_chart_release(
                    self,
                    chart=PLATFORM_CHART,
                    charts_dir=charts_dir,
                    asset_id=PLATFORM_CHART_ASSET,
                    namespace=SYSTEM_NAMESPACE,
                    values=platform_resources(
                        region=region,
                        volume_tags=backup_tags(config),
                        grafana_admin_key=f"{config.secrets_prefix}{platform.grafana_admin_secret}",
                        volume_key_arn=cluster.volume_key_arn,
                        web_acl_arn=edge.regional_web_acl_arn,
                    ),
                    provider=self.helm,
                    # The CRDs (external-secrets) and the monitoring namespace
                    # (Grafana's admin secret) must exist before these resources.
                    depends_on=[
                        *(self.releases[n].release for n in PLATFORM_CHART_AFTER),
                        self.namespaces[MONITORING_NAMESPACE],
                    ],
                )

    def _release(self, addon: Addon, inputs: ReleaseInputs) -> PinnedRelease:
        """``addon`` at its pinned version, after the releases it names (made before
        it: the registry's install order) and its namespace."""
        dependencies: list[ITerraformDependable] = [self.releases[n].release for n in addon.after]
        if addon.workload.namespace in self.namespaces:
            dependencies.append(self.namespaces[addon.workload.namespace])
        return PinnedRelease(
            self,
            addon.name,
            name=addon.name,
            namespace=addon.workload.namespace,
            chart=self.config.platform.charts[addon.name],
            values=addon.values(inputs),
            provider=self.helm,
            depends_on=dependencies,
        )
