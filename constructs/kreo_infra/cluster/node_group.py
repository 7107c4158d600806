"""An EKS managed node group on a hardened launch template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf import TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.eks_node_group import (
    EksNodeGroup,
    EksNodeGroupLaunchTemplate,
    EksNodeGroupNodeRepairConfig,
    EksNodeGroupScalingConfig,
    EksNodeGroupUpdateConfig,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateMetadataOptions,
    LaunchTemplateMonitoring,
    LaunchTemplateTagSpecifications,
)
from constructs import Construct, IConstruct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import aws_managed_policy, service_trust

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
"""The node role's whole permission set: join the cluster, pull images. The VPC
CNI's EC2 permissions go to its own workload-identity role, not to every node."""

DEFAULT_AMI_TYPE = "AL2023_x86_64_STANDARD"
"""Amazon Linux 2023, the EKS-optimized AMI for current Kubernetes versions."""

DEFAULT_MAX_UNAVAILABLE_PERCENT = 33
"""Rolling node updates replace at most a third of the nodes at a time."""


class ManagedNodeGroup(Construct):
    """Nodes for ``cluster_name`` in ``zone_subnets`` (zone id to subnet id).

    With ``zonal`` (the default) there is one EKS managed node group per zone,
    ``<name>-<zone id>``, each sized ``min/desired/max``: Cluster Autoscaler
    can then add a node *in the zone* a Pending pod needs (a zonal EBS volume,
    a zone-spread constraint), which one group over several zones cannot
    promise (the ASG picks the zone). Without it, one group ``<name>`` spans
    every subnet with those sizes in total. All of them share one node role
    and one launch template.

    The launch template requires IMDSv2 with a hop limit of 1 (pods cannot
    reach the node's instance credentials), encrypts a gp3 root volume, has no
    SSH key, and attaches ``security_group_ids`` (the cluster's security group
    plus, for example, the data-clients group). ``desired_size`` is ignored
    after creation: Cluster Autoscaler owns it.

    Root volumes are encrypted with ``volume_key_arn`` (the cluster's
    :class:`~kreo_infra.cluster.volume_key.VolumeKey`); None leaves EBS's
    default key (the account's ``aws/ebs``). Instances carry
    ``kubernetes.io/cluster/<cluster_name>=owned``, the tag AWS asks nodes to
    carry (EKS user guide, "Self-managed nodes") and the EBS CSI driver's role
    requires of the instances it attaches volumes to.

    With ``auto_repair`` (the default) every group has EKS node auto repair
    (``node_repair_config``): EKS cordons a node whose health check fails and
    replaces it after 30 minutes. Without the EKS node monitoring agent add-on,
    which we do not install, the only signals are the kubelet's ``Ready``
    condition and a Node object deleted by hand; the agent's conditions
    (``KernelReady``, ``NetworkingReady``, ``StorageReady``…) are not seen, and
    ``DiskPressure``/``MemoryPressure``/``PIDPressure`` are never repaired. EKS
    pauses repairs while a zonal shift is active, and by default only while more
    than 20% of a group of *more than five* nodes are unhealthy (EKS user guide,
    "Enable node auto repair and investigate node health issues"): never, for
    groups this small. So repairs go one node at a time
    (``max_parallel_nodes_repaired_count`` 1) and stop while more than one node
    of the group is unhealthy (``max_unhealthy_node_threshold_count`` 1): two
    NotReady nodes of one zone's group is more likely the zone than the nodes, and
    replacing them into it helps nothing. Without ``auto_repair`` the block says
    ``enabled = false``, so turning it off also turns it off on existing groups.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster_name: str,
        name: str,
        zone_subnets: Mapping[str, str],
        security_group_ids: Sequence[str],
        instance_types: Sequence[str],
        min_size: int,
        desired_size: int,
        max_size: int,
        disk_size_gb: int,
        account: AwsAccount,
        tags: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        ami_type: str = DEFAULT_AMI_TYPE,
        zonal: bool = True,
        auto_repair: bool = True,
        volume_key_arn: str | None = None,
        depends_on: Sequence[IConstruct] = (),
    ) -> None:
        super().__init__(scope, id)
        if not 0 <= min_size <= desired_size <= max_size:
            raise PropsError(
                "ManagedNodeGroup",
                "min_size/desired_size/max_size",
                (min_size, desired_size, max_size),
                "need 0 <= min <= desired <= max",
            )
        if not instance_types:
            raise PropsError("ManagedNodeGroup", "instance_types", [], "name at least one")
        if not zone_subnets:
            raise PropsError("ManagedNodeGroup", "zone_subnets", {}, "name at least one zone")
        self.role = IamRole(
            self,
            "role",
            name=f"{cluster_name}-{name}-node",
            description=f"Nodes of the {name} group of {cluster_name}",
            assume_role_policy=service_trust("ec2.amazonaws.com"),
        )
        attachments = [
            IamRolePolicyAttachment(
                self,
                f"role-{policy}",
                role=self.role.name,
                policy_arn=aws_managed_policy(account.partition, policy),
            )
            for policy in NODE_POLICIES
        ]
        instance_tags = {**tags, "Name": f"{cluster_name}-{name}"}
        # The cluster tag on the instances only: on the root volumes it would let
        # the EBS CSI driver (which acts on what carries it) detach or delete them.
        node_tag = {f"kubernetes.io/cluster/{cluster_name}": "owned"}
        self.launch_template = LaunchTemplate(
            self,
            "launch-template",
            name=f"{cluster_name}-{name}",
            description=f"Hardened nodes of the {name} group of {cluster_name}",
            update_default_version=True,
            vpc_security_group_ids=list(security_group_ids),
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name="/dev/xvda",
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=disk_size_gb,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=volume_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            monitoring=LaunchTemplateMonitoring(enabled=True),
            tag_specifications=[
                LaunchTemplateTagSpecifications(
                    resource_type=kind,
                    tags={**instance_tags, **(node_tag if kind == "instance" else {})},
                )
                for kind in ("instance", "volume", "network-interface")
            ],
        )
        groups = (
            {
                f"node-group-{zone}": (f"{name}-{zone}", [subnet])
                for zone, subnet in zone_subnets.items()
            }
            if zonal
            else {"node-group": (name, list(zone_subnets.values()))}
        )
        self.node_groups = [
            EksNodeGroup(
                self,
                group_id,
                cluster_name=cluster_name,
                node_group_name=group_name,
                node_role_arn=self.role.arn,
                subnet_ids=subnets,
                ami_type=ami_type,
                capacity_type="ON_DEMAND",
                instance_types=list(instance_types),
                scaling_config=EksNodeGroupScalingConfig(
                    min_size=min_size, desired_size=desired_size, max_size=max_size
                ),
                update_config=EksNodeGroupUpdateConfig(
                    max_unavailable_percentage=DEFAULT_MAX_UNAVAILABLE_PERCENT
                ),
                launch_template=EksNodeGroupLaunchTemplate(
                    id=self.launch_template.id,
                    version=Token.as_string(self.launch_template.latest_version),
                ),
                node_repair_config=EksNodeGroupNodeRepairConfig(
                    enabled=auto_repair,
                    # Sent when off too: harmless then, and no diff if switched back.
                    max_parallel_nodes_repaired_count=1,
                    max_unhealthy_node_threshold_count=1,
                ),
                labels=dict(labels or {"kreo.com/node-group": name}),
                lifecycle=TerraformResourceLifecycle(
                    ignore_changes=["scaling_config[0].desired_size"]
                ),
                depends_on=[*attachments, *depends_on],
            )
            for group_id, (group_name, subnets) in groups.items()
        ]
