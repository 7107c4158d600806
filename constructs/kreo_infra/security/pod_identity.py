"""EKS Pod Identity: an IAM role only the Pod Identity agent can assume, for one workload."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.eks_pod_identity_association import EksPodIdentityAssociation
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import Statement, aws_managed_policy, policy_document
from kreo_infra.workloads import Workload

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


class PodIdentityRole(Construct):
    """An IAM role only EKS Pod Identity can assume, for one workload of one cluster.

    The trust policy admits ``pods.eks.amazonaws.com`` on behalf of this
    account and this cluster only. Permissions are ``statements`` (an inline
    policy) and/or AWS-managed ``managed_policies``. With ``associate`` (the
    default) the role is bound to the workload's service account; EKS add-ons
    bind their role themselves and pass ``associate=False``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workload: Workload,
        cluster_name: str,
        cluster_arn: str,
        account: AwsAccount,
        statements: Sequence[Statement] = (),
        managed_policies: Sequence[str] = (),
        associate: bool = True,
    ) -> None:
        super().__init__(scope, id)
        if not statements and not managed_policies:
            raise PropsError(
                "PodIdentityRole", "statements", [], "give the role statements or managed policies"
            )
        self.workload = workload
        self.role = IamRole(
            self,
            "role",
            name=f"{cluster_name}-{workload.name}",
            description=f"{workload.namespace}/{workload.service_account} on {cluster_name}",
            assume_role_policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": POD_IDENTITY_SERVICE},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": account.account_id},
                            "ArnEquals": {"aws:SourceArn": cluster_arn},
                        },
                    }
                ]
            ),
        )
        self.dependables: list[ITerraformDependable] = [self.role]
        """The role, its policies and its association: what a workload using it waits for."""
        if statements:
            policy = IamRolePolicy(
                self,
                "policy",
                name=workload.name,
                role=self.role.id,
                policy=policy_document(statements),
            )
            self.dependables.append(policy)
        for managed in managed_policies:
            attachment = IamRolePolicyAttachment(
                self,
                f"policy-{managed}",
                role=self.role.name,
                policy_arn=aws_managed_policy(account.partition, managed),
            )
            self.dependables.append(attachment)
        if associate:
            association = EksPodIdentityAssociation(
                self,
                "association",
                cluster_name=cluster_name,
                namespace=workload.namespace,
                service_account=workload.service_account,
                role_arn=self.role.arn,
            )
            self.dependables.append(association)

    @property
    def arn(self) -> str:
        return self.role.arn
