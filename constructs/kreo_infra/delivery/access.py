"""People's roles: assumable from one IAM Identity Center permission set each."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.delivery.github import MAX_SESSION_SECONDS
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import Statement, policy_document

SSO_ROLE_PATH = "aws-reserved/sso.amazonaws.com"
"""Where IAM Identity Center puts the roles of its permission sets."""


def access_statements(account: AwsAccount, project: str, *, write: bool) -> list[Statement]:
    """Find the project's clusters and call its search domains (reads only, unless
    ``write``: the admin roles). What a person may do inside them is the cluster's
    access entries' and OpenSearch's fine-grained access control's decision too."""

    def arn(service: str) -> str:
        return f"arn:{account.partition}:{service}:{account.region}:{account.account_id}"

    return [
        {
            "Sid": "FindTheClusters",
            "Effect": "Allow",
            "Action": ["eks:DescribeCluster", "eks:ListAccessEntries"],
            "Resource": f"{arn('eks')}:cluster/{project}-*",
        },
        {
            # ListClusters has no resource to scope to.
            "Sid": "ListTheClusters",
            "Effect": "Allow",
            "Action": "eks:ListClusters",
            "Resource": "*",
        },
        {
            "Sid": "CallTheSearchDomains",
            "Effect": "Allow",
            "Action": [
                f"es:ESHttp{verb}"
                for verb in ("Get", "Head", *(("Post", "Put", "Delete", "Patch") if write else ()))
            ],
            "Resource": f"{arn('es')}:domain/{project}-*/*",
        },
    ]


def permission_set_trust(account: AwsAccount, permission_set: str) -> str:
    """A trust policy: only the roles of IAM Identity Center permission set
    ``permission_set`` in this account may assume the role (``sts:SetSourceIdentity``:
    the person's identity follows the session into CloudTrail).

    Identity Center puts its roles under <path>/ or, when its home region is not
    us-east-1, <path>/<region>/: hence the * before the name."""
    sso_roles = (
        f"arn:{account.partition}:iam::{account.account_id}:role/{SSO_ROLE_PATH}/"
        f"*AWSReservedSSO_{permission_set}_*"
    )
    return policy_document(
        [
            {
                "Sid": "FromThePermissionSet",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{account.partition}:iam::{account.account_id}:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {"ArnLike": {"aws:PrincipalArn": sso_roles}},
            }
        ]
    )


class AccessRole(Construct):
    """IAM role ``name`` for people, with a stable name EKS access entries and
    OpenSearch can trust.

    Identity Center's own roles are ``<path>/AWSReservedSSO_<set>_<random>``:
    the suffix differs per account and an EKS access entry needs the role's
    exact ARN without path. This role is assumable only by the roles of
    ``permission_set`` in this account (``aws:PrincipalArn``); its permissions
    are ``statements`` (what it needs beside the cluster's and the search
    domain's own access control: finding the cluster).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        permission_set: str,
        account: AwsAccount,
        statements: list[Statement],
    ) -> None:
        if not permission_set or "*" in permission_set:
            raise PropsError("AccessRole", "permission_set", permission_set, "name one set")
        super().__init__(scope, id)
        self.role = IamRole(
            self,
            "role",
            name=name,
            description=f"People with the {permission_set} permission set",
            max_session_duration=MAX_SESSION_SECONDS,  # one hour, the console's default
            assume_role_policy=permission_set_trust(account, permission_set),
        )
        IamRolePolicy(
            self,
            "policy",
            name="find-the-clusters",
            role=self.role.id,
            policy=policy_document(statements),
        )

    @property
    def arn(self) -> str:
        return self.role.arn
