"""GitHub Actions OIDC: the identity provider, the subjects it issues, and the roles
workflows assume.

Every repository whose workflows assume a role here has its OIDC subject claim
customized (``kreo_infra.delivery.repository.OidcSubjectTemplate``, applied by the
``kreo-github`` stack) to :data:`SUB_CLAIM_KEYS`, so the ``sub`` of a job's token
names the workflow file that runs it, not only the repository and its context::

    repo:kreo/kreo-infra:environment:production:job_workflow_ref:kreo/kreo-infra/.github/workflows/infra-deploy.yml@refs/heads/main

GitHub documents that format ("Customizing the subject claims for an organization
or repository", example ``repo:octo-org/octo-repo:environment:prod:job_workflow_ref:
octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main``):
https://docs.github.com/en/actions/reference/security/oidc#customizing-the-subject-claims-for-an-organization-or-repository
(source: github/docs, content/actions/reference/security/oidc.md). For a job that
does not call a reusable workflow, ``job_workflow_ref`` is the run's own workflow,
``<owner>/<repo>/<path>@<ref>`` (the same value as ``workflow_ref``:
https://github.com/ossf/wg-securing-software-repos/pull/57).

Why the ``sub`` and not a condition on the ``job_workflow_ref`` claim itself: STS
has accepted ``token.actions.githubusercontent.com:job_workflow_ref`` as a
condition key only since 2026-01
(https://aws.amazon.com/about-aws/whats-new/2026/01/aws-sts-supports-validation-identity-provider-claims/,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif);
the customized ``sub`` works with every STS endpoint and fails closed: a
repository whose template is reset to GitHub's default issues
``repo:<repo>:<context>`` subjects, which no role trusts any more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

DRILL_SESSION_SECONDS = 6 * 3600
"""The recovery drill's role: six hours, GitHub's job limit. A restore replays up
to a day of logs (the drill waits up to four hours for it), then the teardown
waits for the deletion; the workflow asks for this duration."""


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


SUB_CLAIM_KEYS: tuple[str, ...] = ("repo", "context", "job_workflow_ref")
"""The claims, in order, of the customized ``sub`` of every repository that assumes
a role here: ``repo:<owner>/<repo>:<context>:job_workflow_ref:<workflow>@<ref>``."""

MAIN_REF = "refs/heads/main"
"""The ref deploys and image pushes run from."""

PULL_REQUEST_CONTEXT = "pull_request"
"""The ``context`` of a job of a ``pull_request`` run that names no environment."""

PULL_REQUEST_REFS = "refs/pull/*/merge"
"""The ref of a ``pull_request`` run's workflow (``refs/pull/<number>/merge``): the
one place a subject may hold a wildcard, matched with ``StringLike``."""

_REPOSITORY = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
_NAME = r"[A-Za-z0-9_.-]+"
_BRANCH = r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*"
_WORKFLOW_PATH = re.compile(r"^\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml$")
_CONTEXT = re.compile(
    rf"^(?:{PULL_REQUEST_CONTEXT}|environment:{_NAME}|ref:refs/(?:heads|tags)/{_BRANCH})$"
)
_REF = re.compile(rf"^refs/(?:heads|tags)/{_BRANCH}$")
_PINNED = re.compile(
    rf"^repo:(?P<repository>{_REPOSITORY})"
    rf":(?P<context>{PULL_REQUEST_CONTEXT}|environment:{_NAME}|ref:refs/(?:heads|tags)/{_BRANCH})"
    rf":job_workflow_ref:(?P<workflow_repository>{_REPOSITORY})/(?P<workflow_path>[^@]+)"
    rf"@(?P<ref>[^@]+)$"
)


def environment_context(environment: str) -> str:
    """The ``context`` of a job that runs in GitHub environment ``environment``."""
    return f"environment:{environment}"


def branch_context(branch: str = "main") -> str:
    """The ``context`` of a job on ``branch`` that names no environment (not a pull request)."""
    return f"ref:refs/heads/{branch}"


@dataclass(frozen=True)
class WorkflowSubject:
    """The parts of a customized ``sub`` (:data:`SUB_CLAIM_KEYS`)."""

    repository: str
    context: str
    workflow_path: str
    ref: str

    @property
    def job_workflow_ref(self) -> str:
        """``<owner>/<repo>/<workflow_path>@<ref>``: the ``job_workflow_ref`` claim."""
        return f"{self.repository}/{self.workflow_path}@{self.ref}"

    def __str__(self) -> str:
        return f"repo:{self.repository}:{self.context}:job_workflow_ref:{self.job_workflow_ref}"


def workflow_subject(
    repository: str, *, context: str, workflow_path: str, ref: str = MAIN_REF
) -> str:
    """The ``sub`` of a job of workflow ``workflow_path`` of ``repository``, run from
    ``ref`` in ``context``.

    ``context`` is :func:`environment_context` (a job naming a GitHub environment),
    :func:`branch_context` (a job on a branch, naming none) or
    :data:`PULL_REQUEST_CONTEXT`; ``ref`` defaults to :data:`MAIN_REF`, and a pull
    request's is :data:`PULL_REQUEST_REFS` (the only wildcard a subject may hold).
    The workflow is the repository's own (``job_workflow_ref`` names another
    repository only for a called reusable workflow, which none of ours is).
    Environment and branch names are limited to letters, digits, ``_ . -`` (and
    ``/`` in branches): GitHub escapes a ``:`` in a claim value as ``%3A``, and a
    ``*`` or ``?`` would be a wildcard to ``StringLike``.
    """
    subject = WorkflowSubject(
        repository=repository, context=context, workflow_path=workflow_path, ref=ref
    )
    _check(subject)
    return str(subject)


def parse_subject(subject: str) -> WorkflowSubject:
    """The parts of a customized ``sub`` built by :func:`workflow_subject`; a
    :class:`PropsError` for anything else."""
    match = _PINNED.match(subject)
    if match is None or match["workflow_repository"] != match["repository"]:
        raise PropsError(
            "github_trust",
            "subjects",
            subject,
            "use repo:<owner>/<repo>:<context>:job_workflow_ref:"
            "<owner>/<repo>/.github/workflows/<file>@<ref> (workflow_subject)",
        )
    parsed = WorkflowSubject(
        repository=match["repository"],
        context=match["context"],
        workflow_path=match["workflow_path"],
        ref=match["ref"],
    )
    _check(parsed)
    return parsed


def _check(subject: WorkflowSubject) -> None:
    def refuse(prop: str, value: str, allowed: str) -> None:
        raise PropsError("workflow_subject", prop, value, allowed)

    if not re.fullmatch(_REPOSITORY, subject.repository):
        refuse("repository", subject.repository, "use <owner>/<repo>, no wildcard")
    if not _CONTEXT.match(subject.context):
        refuse(
            "context",
            subject.context,
            "use pull_request, environment:<name> or ref:refs/heads/<branch> "
            "(letters, digits, _ . - ; no wildcard, no ':')",
        )
    if not _WORKFLOW_PATH.match(subject.workflow_path):
        refuse(
            "workflow_path",
            subject.workflow_path,
            "use .github/workflows/<file>.yml (one file, no wildcard)",
        )
    pull_request = subject.context == PULL_REQUEST_CONTEXT
    if pull_request and subject.ref != PULL_REQUEST_REFS:
        refuse("ref", subject.ref, f"a pull request's workflow runs from {PULL_REQUEST_REFS}")
    if not pull_request and not _REF.match(subject.ref):
        refuse("ref", subject.ref, "use refs/heads/<branch> or refs/tags/<tag>, no wildcard")


def _check_subject(subject: str) -> None:
    """A pinned subject (:func:`workflow_subject`)."""
    parse_subject(subject)


def github_trust(provider_arn: str, subjects: Sequence[str]) -> str:
    """A trust policy for GitHub OIDC tokens of exactly ``subjects`` (the ``sub`` claim).

    Subjects are built by :func:`workflow_subject`. Exact ones are matched with
    ``StringEquals``; those with the pull-request ref wildcard
    (:data:`PULL_REQUEST_REFS`) with ``StringLike``, in a statement of their own
    (conditions of one statement are ANDed; statements are ORed). Both pin the
    audience to STS.
    """
    if not subjects:
        raise PropsError("github_trust", "subjects", [], "name the workflows that may assume it")
    for subject in subjects:
        _check_subject(subject)
    exact = [s for s in subjects if "*" not in s]
    patterns = [s for s in subjects if "*" in s]
    statements: list[Statement] = []
    for sid, operator, matched in (
        ("GithubActionsOfTheseWorkflows", "StringEquals", exact),
        ("PullRequestsOfTheseWorkflows", "StringLike", patterns),
    ):
        if not matched:
            continue
        conditions: dict[str, dict[str, Any]] = {
            "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE}
        }
        conditions.setdefault(operator, {})[f"{GITHUB_OIDC_HOST}:sub"] = matched
        statements.append(
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        )
    return policy_document(statements)


class GithubRole(Construct):
    """An IAM role only the given GitHub workflow contexts can assume.

    Permissions: AWS-managed ``managed_policies`` and inline ``statements``
    (policy ``permissions``). Sessions last at most ``max_session_seconds``
    (default :data:`MAX_SESSION_SECONDS`, one hour; IAM allows 1 to 12 hours).
    ``permissions_boundary`` (an IAM policy ARN) caps what those may grant.
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
        permissions_boundary: str | None = None,
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
            permissions_boundary=permissions_boundary,
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
