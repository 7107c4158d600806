"""The EKS control plane: private API, encrypted secrets, audit logs, access entries."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.eks_access_entry import EksAccessEntry
from cdktf_cdktf_provider_aws.eks_access_policy_association import (
    EksAccessPolicyAssociation,
    EksAccessPolicyAssociationAccessScope,
)
from cdktf_cdktf_provider_aws.eks_cluster import (
    EksCluster,
    EksClusterAccessConfig,
    EksClusterEncryptionConfig,
    EksClusterEncryptionConfigProvider,
    EksClusterUpgradePolicy,
    EksClusterVpcConfig,
    EksClusterZonalShiftConfig,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import aws_managed_policy, service_trust
from kreo_infra.security.kms import RotatingKey
from kreo_infra.security.log_group import EncryptedLogGroup

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""All five control-plane log types."""

ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "AmazonEKSViewPolicy"
"""Kubernetes' ``view``: read most namespaced objects, never Secrets."""


class EksControlPlane(Construct):
    """An EKS cluster that trusts nobody by default.

    * API endpoint private; a public endpoint only with ``public_access_cidrs``
      that are not ``0.0.0.0/0``;
    * authentication through EKS access entries only (no ``aws-auth``
      ConfigMap), the creator **not** made admin: ``admin_role_arns`` get
      cluster admin, ``readonly_role_arns`` and ``reviewer_role_arns`` (the pull
      requests' plan role) the view policy, which reads no Secrets (Helm's
      release records are ConfigMaps: ``kreo_infra.platform.providers``), nobody
      else anything;
    * Kubernetes secrets envelope-encrypted with a rotating KMS key;
    * all five control-plane log types into a KMS-encrypted log group with
      ``log_retention_days``;
    * the cluster role carries only ``AmazonEKSClusterPolicy``;
    * standard support only (``upgrade_policy``), never billed extended support;
    * deletion protection on;
    * with ``zonal_shift`` (the default), registered with ARC zonal shift
      (``zonal_shift_config``): an operator can start a zonal shift on the
      cluster (ARC console, CLI or API), and for its duration EKS cordons the
      nodes of the impaired zone, takes their pods out of EndpointSlices and
      launches managed nodes only in the other zones; nothing is evicted or
      terminated. It does **not** turn on zonal *autoshift* (AWS shifting on
      its own telemetry): that is a separate ARC configuration, not made here
      (EKS user guide, "Enable EKS zonal shift to avoid impaired Availability
      Zones": after registering, "you still need to configure ARC"). Without
      ``zonal_shift`` the block says ``enabled = false``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        kubernetes_version: str,
        subnet_ids: Sequence[str],
        account: AwsAccount,
        log_retention_days: int,
        admin_role_arns: Sequence[str],
        readonly_role_arns: Sequence[str] = (),
        reviewer_role_arns: Sequence[str] = (),
        endpoint_public_access: bool = False,
        public_access_cidrs: Sequence[str] = (),
        zonal_shift: bool = True,
    ) -> None:
        super().__init__(scope, id)
        partition = account.partition
        if endpoint_public_access and (
            not public_access_cidrs or "0.0.0.0/0" in public_access_cidrs
        ):
            raise PropsError(
                "EksControlPlane",
                "public_access_cidrs",
                list(public_access_cidrs),
                "a public endpoint needs CIDRs other than 0.0.0.0/0",
            )
        if not admin_role_arns:
            raise PropsError(
                "EksControlPlane", "admin_role_arns", [], "name at least one admin role"
            )
        self.name = name
        self.secrets_key = RotatingKey(
            self,
            "secrets-key",
            alias=f"alias/{name}-eks-secrets",
            description=f"Envelope encryption of the Kubernetes secrets of {name}",
            account=account,
        )
        # Created before the cluster so EKS does not create it unencrypted and
        # without retention.
        self.logs = EncryptedLogGroup(
            self,
            "logs",
            name=f"/aws/eks/{name}/cluster",
            retention_days=log_retention_days,
            key_alias=f"alias/{name}-eks-logs",
            description=f"the control-plane logs of {name}",
            account=account,
        )
        self.role = IamRole(
            self,
            "role",
            name=f"{name}-cluster",
            description=f"The EKS control plane of {name}",
            assume_role_policy=service_trust(
                "eks.amazonaws.com", actions=("sts:AssumeRole", "sts:TagSession")
            ),
        )
        attachment = IamRolePolicyAttachment(
            self,
            "role-cluster-policy",
            role=self.role.name,
            policy_arn=aws_managed_policy(partition, "AmazonEKSClusterPolicy"),
        )
        self.cluster = EksCluster(
            self,
            "cluster",
            name=name,
            version=kubernetes_version,
            role_arn=self.role.arn,
            vpc_config=EksClusterVpcConfig(
                subnet_ids=list(subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=endpoint_public_access,
                public_access_cidrs=list(public_access_cidrs) if endpoint_public_access else None,
            ),
            access_config=EksClusterAccessConfig(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            encryption_config=EksClusterEncryptionConfig(
                resources=["secrets"],
                provider=EksClusterEncryptionConfigProvider(key_arn=self.secrets_key.arn),
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            upgrade_policy=EksClusterUpgradePolicy(support_type="STANDARD"),
            zonal_shift_config=EksClusterZonalShiftConfig(enabled=zonal_shift),
            deletion_protection=True,
            depends_on=[self.logs.group, attachment],
        )
        for kind, arns, policy in (
            ("admin", admin_role_arns, ADMIN_POLICY),
            ("readonly", readonly_role_arns, VIEW_POLICY),
            ("reviewer", reviewer_role_arns, VIEW_POLICY),
        ):
            for index, principal in enumerate(arns):
                entry = EksAccessEntry(
                    self,
                    f"{kind}-{index}",
                    cluster_name=self.cluster.name,
                    principal_arn=principal,
                    type="STANDARD",
                )
                EksAccessPolicyAssociation(
                    self,
                    f"{kind}-{index}-policy",
                    cluster_name=self.cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=f"arn:{partition}:eks::aws:cluster-access-policy/{policy}",
                    access_scope=EksAccessPolicyAssociationAccessScope(type="cluster"),
                )

    @property
    def cluster_security_group_id(self) -> str:
        """The security group EKS creates for the control plane and managed nodes."""
        return self.cluster.vpc_config.cluster_security_group_id
