"""``kreo-<env>-app``: the marketplace services, released from charts/kreo-marketplace."""

from __future__ import annotations

from pathlib import Path

from cdktf import TerraformStack
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1, NamespaceV1Metadata
from constructs import Construct

from kreo_infra.config import EnvironmentConfig
from kreo_infra.marketplace.identity import DataAccess, ServiceIdentities
from kreo_infra.marketplace.values import DataEndpoints, EdgeEndpoints, marketplace_values
from kreo_infra.platform.providers import cluster_providers
from kreo_infra.platform.release import local_chart_release
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import AppOutputs, ClusterOutputs, DataOutputs, EdgeOutputs
from kreo_infra.workloads import APP_NAMESPACE, PRODUCT_SERVICE

MARKETPLACE_CHART = "kreo-marketplace"

POD_SECURITY_STANDARD = "restricted"
"""Pod Security Standard enforced (and audited, and warned about) in the namespace."""

READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
"""With it, the load balancer controller gives every pod behind an IP target group
a readiness gate: a rollout waits until the ALB sees the new pod healthy before
it takes an old one away (docs/decisions.md)."""


class AppStack(KreoStack):
    """The namespace, the services' IAM identities and the marketplace release.

    The release's values come from config and from the edge (certificate, web
    ACL, CDN host), cluster (image repositories, roles), data (endpoints) and
    platform (which installs the controllers and CRDs the chart relies on)
    layers. The chart travels with the synthesized stack as an asset, so a
    plan or deploy from ``cdktf.out/`` needs nothing else from the checkout.
    """

    layer = "app"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        edge: EdgeOutputs,
        cluster: ClusterOutputs,
        data: DataOutputs,
        platform: TerraformStack,
        charts_dir: Path,
    ) -> None:
        """``platform``: the platform stack, of which nothing is read, but whose
        controllers and CRDs must be there first (deploy order without a value)."""
        super().__init__(scope, config=config, after=[platform])
        providers = cluster_providers(
            self,
            cluster_name=config.cluster_name,
            region=config.region,
            endpoint=cluster.cluster_endpoint,
            ca_data=cluster.cluster_ca_data,
            pin=self.pin_provider,
        )

        kubernetes_minor = f"v{config.cluster.kubernetes_version}"
        self.namespace = NamespaceV1(
            self,
            "namespace",
            metadata=NamespaceV1Metadata(
                name=APP_NAMESPACE,
                labels={
                    "app.kubernetes.io/managed-by": "kreo-infra",
                    READINESS_GATE_LABEL: "enabled",
                    **{
                        f"pod-security.kubernetes.io/{mode}": POD_SECURITY_STANDARD
                        for mode in ("enforce", "audit", "warn")
                    },
                    **{
                        f"pod-security.kubernetes.io/{mode}-version": kubernetes_minor
                        for mode in ("enforce", "audit", "warn")
                    },
                },
            ),
            provider=providers.kubernetes,
        )

        self.identities = ServiceIdentities(
            self,
            "identities",
            services=list(config.services),
            cluster_name=cluster.cluster_name,
            cluster_arn=cluster.cluster_arn,
            account=self.account,
            data_access=DataAccess(
                database_proxy_resource_id=data.database_proxy_resource_id,
                database_replica_resource_ids=data.database_replica_resource_ids,
                cache_arn=data.cache_arn,
                cache_user_arn=data.cache_user_arn,
            ),
            existing_roles={
                PRODUCT_SERVICE.name: (
                    cluster.role_names[PRODUCT_SERVICE.name],
                    cluster.role_arns[PRODUCT_SERVICE.name],
                )
            },
        )

        readers = data.database_reader_endpoints
        self.values = marketplace_values(
            config,
            repository_urls=cluster.repository_urls,
            role_arns=self.identities.role_arns,
            data=DataEndpoints(
                database_host=data.database_proxy_endpoint,
                # Staging has no replica: reads go through the proxy too.
                database_reader_host=readers[0] if readers else data.database_proxy_endpoint,
                database_primary_host=data.database_primary_host,
                database_master_secret=data.database_master_secret_name,
                cache_host=data.cache_endpoint,
                cache_reader_host=data.cache_reader_endpoint,
                cache_user=data.cache_user_name,
                search_host=data.search_endpoint,
                media_bucket=data.media_bucket,
            ),
            edge=EdgeEndpoints(
                certificate_arn=edge.api_certificate_arn,
                web_acl_arn=edge.regional_web_acl_arn,
                media_cdn_domain=edge.media_cdn_domain,
            ),
        )
        self.release = local_chart_release(
            self,
            chart=MARKETPLACE_CHART,
            charts_dir=charts_dir,
            asset_id="marketplace-chart",
            namespace=APP_NAMESPACE,
            values=self.values,
            provider=providers.helm,
            # The controllers (load balancer, secrets, DNS) and the Prometheus
            # CRDs come from the platform layer; the roles must exist before
            # the pods ask for credentials.
            depends_on=[self.namespace, *self.identities.dependables],
        )
        self.publish(
            AppOutputs(
                app_namespace=APP_NAMESPACE,
                api_url=f"https://{config.dns.api_fqdn}",
                service_role_arns=self.identities.role_arns,
            )
        )
