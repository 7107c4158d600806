"""``kreo-<env>-cluster``: EKS, its nodes, add-ons, workload identity and image registries."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from constructs import Construct

from kreo_infra.cluster import policies
from kreo_infra.cluster.addons import ADDON_CONFIGURATION, BEFORE_NODES, ManagedAddons
from kreo_infra.cluster.control_plane import EksControlPlane
from kreo_infra.cluster.node_group import ManagedNodeGroup
from kreo_infra.cluster.volume_key import VolumeKey
from kreo_infra.config import EnvironmentConfig
from kreo_infra.delivery.runners import GithubActionsRunner
from kreo_infra.platform.addons import REGISTRY, IdentityInputs
from kreo_infra.security.pod_identity import PodIdentityRole
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import ClusterOutputs, EdgeOutputs, NetworkOutputs
from kreo_infra.tags import standard_tags
from kreo_infra.workloads import CLOUDWATCH_AGENT, EBS_CSI_DRIVER, PRODUCT_SERVICE, VPC_CNI


class ClusterStack(KreoStack):
    """The EKS cluster of one environment, in the network stack's private subnets.

    Later stacks read :class:`ClusterOutputs` (``outputs``) only.
    """

    layer = "cluster"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        network: NetworkOutputs,
        edge: EdgeOutputs,
        registry_account_id: str | None = None,
    ) -> None:
        """``registry_account_id``: the account of the image registry, in this region
        (the apex owner's; default: this environment's own)."""
        super().__init__(scope, config=config)
        cluster_config = config.cluster
        name = config.cluster_name
        aws = self.account
        account, partition, region = aws.account_id, aws.partition, aws.region

        self.control_plane = EksControlPlane(
            self,
            "control-plane",
            name=name,
            kubernetes_version=cluster_config.kubernetes_version,
            subnet_ids=network.private_subnet_ids,
            account=aws,
            log_retention_days=cluster_config.log_retention_days,
            # The environment's deploy role administers the cluster (the platform
            # and app layers install into it); the plan role may view it, Secrets
            # excepted (Helm keeps its release records in ConfigMaps).
            admin_role_arns=[
                self.iam_role_arn(n) for n in [*cluster_config.admin_role_names, config.deploy_role]
            ],
            readonly_role_arns=[self.iam_role_arn(n) for n in cluster_config.readonly_role_names],
            reviewer_role_arns=[self.iam_role_arn(config.delivery.plan_role)],
            endpoint_public_access=cluster_config.endpoint_public_access,
            public_access_cidrs=cluster_config.public_access_cidrs,
            zonal_shift=cluster_config.zonal_shift,
        )
        cluster = self.control_plane.cluster

        # No rules of its own: membership is the point. The data tier's security
        # groups admit their ports from this group, and every node carries it.
        self.data_clients = SecurityGroup(
            self,
            "data-clients",
            name=f"{name}-data-clients",
            description="Members may reach the data tier (RDS, ElastiCache, OpenSearch)",
            vpc_id=network.vpc_id,
            tags={"Name": f"{name}-data-clients"},
        )

        # Node root volumes and persistent volumes, one key per cluster.
        self.volume_key = VolumeKey(self, "volume-key", cluster_name=name, account=aws)

        identity = {"cluster_name": cluster.name, "cluster_arn": cluster.arn}
        common = {"account": aws, **identity}
        # Every Helm add-on that calls AWS (kreo_infra.platform.addons), then the
        # product service's and the EKS managed add-ons' roles.
        addon_inputs = IdentityInputs(
            partition=partition,
            region=region,
            account_id=account,
            cluster_name=name,
            zone_id=edge.zone_id,
            record_hosts=(config.dns.api_fqdn,),
            alarm_topic=config.alarm_topic_name,
            secrets_prefix=config.secrets_prefix,
        )
        self.roles = {
            role.workload.name: role
            for role in (
                *(
                    PodIdentityRole(
                        self,
                        addon.identity_id,
                        workload=addon.workload,
                        statements=addon.statements(addon_inputs),
                        **common,
                    )
                    for addon in REGISTRY
                    if addon.statements is not None
                ),
                PodIdentityRole(
                    self,
                    "product-service",
                    workload=PRODUCT_SERVICE,
                    statements=policies.media_bucket_read_write(
                        partition=partition,
                        region=region,
                        account_id=account,
                        bucket=config.storage.media_bucket,
                    ),
                    **common,
                ),
                PodIdentityRole(
                    self,
                    "ebs-csi-driver",
                    workload=EBS_CSI_DRIVER,
                    statements=policies.ebs_csi_driver(
                        partition=partition,
                        region=region,
                        account_id=account,
                        cluster_name=name,
                        key_arn=self.volume_key.arn,
                    ),
                    associate=False,
                    **common,
                ),
                PodIdentityRole(
                    self,
                    "cloudwatch-agent",
                    workload=CLOUDWATCH_AGENT,
                    managed_policies=["CloudWatchAgentServerPolicy"],
                    associate=False,
                    **common,
                ),
                PodIdentityRole(
                    self,
                    "vpc-cni",
                    workload=VPC_CNI,
                    managed_policies=["AmazonEKS_CNI_Policy"],
                    associate=False,
                    **common,
                ),
            )
        }
        addon_roles = {
            "vpc-cni": self.roles[VPC_CNI.name],
            "aws-ebs-csi-driver": self.roles[EBS_CSI_DRIVER.name],
            "amazon-cloudwatch-observability": self.roles[CLOUDWATCH_AGENT.name],
        }
        versions = dict(cluster_config.addons)
        configurations = {
            **ADDON_CONFIGURATION,
            "aws-ebs-csi-driver": policies.ebs_csi_driver_configuration(name),
        }
        early_addons = ManagedAddons(
            self,
            "addons-before-nodes",
            cluster_name=cluster.name,
            versions={k: v for k, v in versions.items() if k in BEFORE_NODES},
            roles=addon_roles,
            configurations=configurations,
        )
        tags = standard_tags(config, self.stack_name)
        self.node_groups = [
            ManagedNodeGroup(
                self,
                f"node-group-{group_name}",
                cluster_name=cluster.name,
                name=group_name,
                zone_subnets=network.private_subnet_ids_by_zone,
                zonal=group.zonal,
                auto_repair=group.auto_repair,
                security_group_ids=[
                    self.control_plane.cluster_security_group_id,
                    self.data_clients.id,
                ],
                instance_types=group.instance_types,
                min_size=group.min_size,
                desired_size=group.desired_size,
                max_size=group.max_size,
                disk_size_gb=group.disk_size_gb,
                volume_key_arn=self.volume_key.arn,
                account=aws,
                tags=tags,
                depends_on=list(early_addons.addons.values()),
            )
            for group_name, group in cluster_config.node_groups.items()
        ]
        ManagedAddons(
            self,
            "addons",
            cluster_name=cluster.name,
            versions={k: v for k, v in versions.items() if k not in BEFORE_NODES},
            roles=addon_roles,
            configurations=configurations,
            depends_on=[n for g in self.node_groups for n in g.node_groups],
        )

        # The repositories are the registry account's (the apex owner's bootstrap):
        # every environment pulls the same images from them, its nodes allowed by
        # their repository policy, and they exist before any environment.
        host = f"{registry_account_id or account}.dkr.ecr.{region}.amazonaws.com"
        self.repository_urls = {s: f"{host}/{config.project}/{s}" for s in config.services}

        # GitHub Actions runners in the VPC (CodeBuild-hosted), the only place the
        # pipeline reaches the private Kubernetes API from: the deploy workflow's
        # workloads jobs and the pull requests' workloads plans, one project each,
        # each admitted to the API by the cluster security group. GitHub access is
        # the account's CodeBuild source credential (imported once, out of band).
        self.runners = {
            purpose: GithubActionsRunner(
                self,
                f"{purpose}-runner",
                name=f"{name}-{purpose}-runner",
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                cluster_security_group_id=self.control_plane.cluster_security_group_id,
                repository=config.delivery.github_repository,
                account=aws,
                log_retention_days=cluster_config.log_retention_days,
                workflow_name=workflow,
            )
            for purpose, workflow in (("deploy", "^infra-deploy$"), ("plan", "^infra-ci$"))
        }
        self.publish(
            ClusterOutputs(
                cluster_name=cluster.name,
                cluster_endpoint=cluster.endpoint,
                cluster_ca_data=cluster.certificate_authority.get(0).data,
                oidc_issuer=cluster.identity.get(0).oidc.get(0).issuer,
                cluster_security_group_id=self.control_plane.cluster_security_group_id,
                data_clients_security_group_id=self.data_clients.id,
                role_arns={name: role.arn for name, role in self.roles.items()},
                repository_urls=self.repository_urls,
                runner_project_names={p: r.project.name for p, r in self.runners.items()},
                cluster_arn=cluster.arn,
                role_names={name: role.role.name for name, role in self.roles.items()},
                volume_key_arn=self.volume_key.arn,
            )
        )
