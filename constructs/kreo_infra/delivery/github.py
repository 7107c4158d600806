"""GitHub Actions OIDC: the identity provider and the roles workflows assume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import Statement, aws_managed_policy, policy_document

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
MAX_SESSION_SECONDS = 3600
"""The default session limit: one hour, nothing lingers longer."""

DEPLOY_SESSION_SECONDS = 4 * 3600
"""Deploy roles: four hours. A first production deploy (EKS and its node group,
Multi-AZ RDS with a replica, OpenSearch with dedicated masters, CloudFront,
the Helm releases) runs well past one hour, and credentials that expire
mid-apply leave resources created but not in state. The workflow asks for
this duration (``role-duration-seconds``); IAM allows up to 12 hours."""

PLAN_SESSION_SECONDS = 2 * 3600
"""Plan roles: two hours, a plan of every stack of one environment."""


class GithubOidcProvider(Construct):
    """The account's IAM OIDC identity provider for GitHub Actions (audience STS)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.provider = IamOpenidConnectProvider(
            self,
            "provider",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_id_list=[AUDIENCE],
        )

    @property
    def arn(self) -> str:
        return self.provider.arn


def github_trust(provider_arn: str, subjects: Sequence[str]) -> str:
    """A trust policy for GitHub OIDC tokens of exactly ``subjects`` (the ``sub`` claim).

    Subjects are ``repo:<owner>/<repo>:<context>``: ``pull_request``,
    ``ref:refs/heads/main`` or ``environment:<name>``. No wildcard in the
    repository part is accepted.
    """
    for subject in subjects:
        repository = subject.split(":")[1] if subject.count(":") >= 2 else ""
        if not subject.startswith("repo:") or "*" in repository or "/" not in repository:
            raise PropsError(
                "github_trust", "subjects", subject, "use repo:<owner>/<repo>:<context>"
            )
    return policy_document(
        [
            {
                "Sid": "GithubActionsOfTheseWorkflows",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": list(subjects),
                    }
                },
            }
        ]
    )


class GithubRole(Construct):
    """An IAM role only the given GitHub workflow contexts can assume.

    Permissions: AWS-managed ``managed_policies`` and inline ``statements``
    (policy ``permissions``). Sessions last at most ``max_session_seconds``
    (default :data:`MAX_SESSION_SECONDS`, one hour; IAM allows 1 to 12 hours).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        description: str,
        provider_arn: str,
        subjects: Sequence[str],
        account: AwsAccount,
        statements: Sequence[Statement] = (),
        managed_policies: Sequence[str] = (),
        max_session_seconds: int = MAX_SESSION_SECONDS,
    ) -> None:
        if not 3600 <= max_session_seconds <= 43200:
            raise PropsError(
                "GithubRole", "max_session_seconds", max_session_seconds, "use 3600 to 43200"
            )
        if not subjects:
            raise PropsError("GithubRole", "subjects", [], "name the workflows that may assume it")
        trust = github_trust(provider_arn, subjects)
        super().__init__(scope, id)
        self.role = IamRole(
            self,
            "role",
            name=name,
            description=description,
            assume_role_policy=trust,
            max_session_duration=max_session_seconds,
        )
        if statements:
            IamRolePolicy(
                self,
                "policy",
                name="permissions",
                role=self.role.id,
                policy=policy_document(statements),
            )
        for policy in managed_policies:
            IamRolePolicyAttachment(
                self,
                f"policy-{policy}",
                role=self.role.name,
                policy_arn=aws_managed_policy(account.partition, policy),
            )

    @property
    def arn(self) -> str:
        return self.role.arn


def state_access(
    *, bucket_arn: str, key_arn: str, key_prefix: str, write: bool
) -> list[Mapping[str, Any]]:
    """Read (and for deploys write) the state objects; every role writes lock files."""
    objects = f"{bucket_arn}/{key_prefix}/*"
    statements: list[Mapping[str, Any]] = [
        {
            "Sid": "ListTheStateBucket",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadState",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": objects,
        },
        {
            # S3-native locking: even a plan takes the lock (a .tflock object).
            "Sid": "TakeStateLocks",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{bucket_arn}/{key_prefix}/*.tflock",
        },
        {
            "Sid": "UseTheStateKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": key_arn,
        },
    ]
    if write:
        statements.append(
            {
                "Sid": "WriteState",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": objects,
            }
        )
    return statements
