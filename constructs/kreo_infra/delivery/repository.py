"""GitHub-side gates of the pipeline, as code: what a workflow must be, and what
must happen on GitHub, before a job gets a token an AWS role trusts.

* :class:`OidcSubjectTemplate`: the repository's OIDC ``sub`` names the workflow
  file (``kreo_infra.delivery.github.SUB_CLAIM_KEYS``);
* :class:`WorkflowPermissions`: ``GITHUB_TOKEN`` read-only by default, and no
  workflow may approve a pull request;
* :class:`DeploymentEnvironment`: a GitHub environment deploys from main only,
  behind its approvers, with no bypass for administrators;
* :class:`ProtectedBranch`: main changes only through a reviewed pull request
  whose checks passed.

Repositories are ``owner/name``; the resources take the name, and the GitHub
provider's ``owner`` must be the owner (the ``kreo-github`` stack checks it).
Provider: integrations/github 6.9.0 (docs per resource below, read at the tag
``v6.9.0`` of https://github.com/integrations/terraform-provider-github,
``website/docs/r/``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cdktf import Token
from cdktf_cdktf_provider_github.actions_repository_oidc_subject_claim_customization_template import (  # noqa: E501
    ActionsRepositoryOidcSubjectClaimCustomizationTemplate,
)
from cdktf_cdktf_provider_github.data_github_team import DataGithubTeam
from cdktf_cdktf_provider_github.repository_environment import (
    RepositoryEnvironment,
    RepositoryEnvironmentDeploymentBranchPolicy,
    RepositoryEnvironmentReviewers,
)
from cdktf_cdktf_provider_github.repository_environment_deployment_policy import (
    RepositoryEnvironmentDeploymentPolicy,
)
from cdktf_cdktf_provider_github.repository_ruleset import (
    RepositoryRuleset,
    RepositoryRulesetConditions,
    RepositoryRulesetConditionsRefName,
    RepositoryRulesetRules,
    RepositoryRulesetRulesPullRequest,
    RepositoryRulesetRulesRequiredStatusChecks,
    RepositoryRulesetRulesRequiredStatusChecksRequiredCheck,
)
from cdktf_cdktf_provider_github.workflow_repository_permissions import (
    WorkflowRepositoryPermissions,
)
from constructs import Construct

from kreo_infra.delivery.github import SUB_CLAIM_KEYS
from kreo_infra.errors import PropsError

GITHUB_ACTIONS_APP_ID = 15368
"""The GitHub Actions app (``gh api /apps/github-actions``): a required check must
come from a workflow job, not from a commit status anyone with write access can post."""

MAX_ENVIRONMENT_REVIEWERS = 6
"""GitHub's limit on an environment's required reviewers (repository_environment docs)."""

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_BRANCH = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")
_TEAM_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def repository_name(construct: str, repository: str) -> str:
    """``name`` of ``owner/name`` (what the resources take); a :class:`PropsError`
    for anything else."""
    if not _REPOSITORY.match(repository):
        raise PropsError(construct, "repository", repository, "use <owner>/<name>")
    return repository.split("/", 1)[1]


def _branch(construct: str, branch: str) -> str:
    if not _BRANCH.match(branch):
        raise PropsError(construct, "branch", branch, "name one branch (no wildcard)")
    return branch


class OidcSubjectTemplate(Construct):
    """The repository's OIDC subject claim customization: ``use_default`` false and
    ``include_claim_keys`` :data:`~kreo_infra.delivery.github.SUB_CLAIM_KEYS`, so its
    jobs' ``sub`` reads ``repo:<owner>/<repo>:<context>:job_workflow_ref:<workflow>@<ref>``.

    Create the roles' matching trust first: tokens issued after the template
    changes carry the new ``sub``, and a role still trusting the old one refuses
    them (GitHub: "you should first create a matching condition in your cloud
    provider's OIDC configuration, before customizing the configuration";
    https://docs.github.com/en/actions/reference/security/oidc#customizing-the-subject-claims-for-an-organization-or-repository).
    The REST call is "Set the customization template for an OIDC subject claim for
    a repository" (``PUT /repos/{owner}/{repo}/actions/oidc/customization/sub``,
    https://docs.github.com/en/rest/actions/oidc); resource
    ``github_actions_repository_oidc_subject_claim_customization_template``.
    """

    def __init__(self, scope: Construct, id: str, *, repository: str) -> None:
        name = repository_name("OidcSubjectTemplate", repository)
        super().__init__(scope, id)
        self.template = ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
            self,
            "template",
            repository=name,
            use_default=False,
            include_claim_keys=list(SUB_CLAIM_KEYS),
        )


class WorkflowPermissions(Construct):
    """The repository's ``GITHUB_TOKEN`` defaults: read-only unless a job asks for
    more (ours all do, explicitly), and GitHub Actions may not approve pull requests.

    The second matters to the review gate: the CI workflow's review and plan jobs
    hold ``pull-requests: write`` for their comments, and a pull request can change
    that workflow; were Actions allowed to approve, a pull request could approve
    itself. Resource ``github_workflow_repository_permissions``
    (``can_approve_pull_request_reviews``: "Enabling this can be a security risk").
    """

    def __init__(self, scope: Construct, id: str, *, repository: str) -> None:
        name = repository_name("WorkflowPermissions", repository)
        super().__init__(scope, id)
        self.permissions = WorkflowRepositoryPermissions(
            self,
            "permissions",
            repository=name,
            default_workflow_permissions="read",
            can_approve_pull_request_reviews=False,
        )


class DeploymentEnvironment(Construct):
    """GitHub environment ``environment`` of ``repository``: the gate a deploy job
    passes before it gets the token its environment's role trusts.

    * deployments from ``branch`` only (default ``main``): a custom deployment
      branch policy naming exactly that branch (``custom_branch_policies`` and a
      ``github_repository_environment_deployment_policy``), not "protected
      branches", which would admit any branch someone protects later;
    * ``reviewer_teams`` (team slugs, default none): a job waits until one member
      of one of them approves (GitHub needs one approval from the required
      reviewers, at most six of them); ``prevent_self_review`` so whoever
      triggered the run cannot approve it (set only with reviewers: without
      any, there is no review to prevent);
    * administrators cannot bypass it (``can_admins_bypass`` false; GitHub's
      default is true).

    Resource docs: ``repository_environment`` and
    ``repository_environment_deployment_policy`` (v6.9.0).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository: str,
        environment: str,
        reviewer_teams: Sequence[str] = (),
        branch: str = "main",
    ) -> None:
        construct = "DeploymentEnvironment"
        name = repository_name(construct, repository)
        if not _ENVIRONMENT.match(environment):
            raise PropsError(
                construct, "environment", environment, "use letters, digits, _ . - (no ':')"
            )
        teams = list(reviewer_teams)
        if len(teams) > MAX_ENVIRONMENT_REVIEWERS or len(set(teams)) != len(teams):
            raise PropsError(
                construct,
                "reviewer_teams",
                teams,
                f"name at most {MAX_ENVIRONMENT_REVIEWERS} different teams",
            )
        for team in teams:
            if not _TEAM_SLUG.match(team):
                raise PropsError(construct, "reviewer_teams", team, "use a team slug")
        _branch(construct, branch)
        super().__init__(scope, id)
        team_ids = [
            Token.as_number(DataGithubTeam(self, f"team-{team}", slug=team, summary_only=True).id)
            for team in teams
        ]
        self.environment = RepositoryEnvironment(
            self,
            "environment",
            repository=name,
            environment=environment,
            can_admins_bypass=False,
            prevent_self_review=True if teams else None,
            reviewers=[RepositoryEnvironmentReviewers(teams=team_ids)] if teams else None,
            deployment_branch_policy=RepositoryEnvironmentDeploymentBranchPolicy(
                protected_branches=False, custom_branch_policies=True
            ),
        )
        self.branch_policy = RepositoryEnvironmentDeploymentPolicy(
            self,
            "branch-policy",
            repository=name,
            environment=self.environment.environment,
            branch_pattern=branch,
        )


class ProtectedBranch(Construct):
    """A repository ruleset on ``branch`` (default ``main``) with no bypass actor,
    so it binds administrators too:

    * a pull request with ``required_approvals`` approving reviews (default 1);
      stale approvals dismissed on push; the last push approved by someone other
      than its author (else one could push after an approval); conversations
      resolved;
    * ``required_checks`` (default none): check runs of the GitHub Actions app
      (:data:`GITHUB_ACTIONS_APP_ID`) that must pass, on a branch up to date
      with ``branch`` (strict), because the synth report and plans are of the
      pull request against the base it was tested on;
    * no force push, no deletion;
    * linear history (``linear_history``, default true): squash or rebase merges
      only, so every commit of main is one reviewed change and one deploy run,
      and ``git revert`` of a change is one commit.

    A repository administrator can still edit or delete the ruleset itself (as
    any GitHub setting); the ``kreo-github`` stack's next plan shows it.
    Resource doc: ``repository_ruleset`` (v6.9.0).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository: str,
        required_checks: Sequence[str] = (),
        required_approvals: int = 1,
        branch: str = "main",
        linear_history: bool = True,
    ) -> None:
        construct = "ProtectedBranch"
        name = repository_name(construct, repository)
        _branch(construct, branch)
        if not 1 <= required_approvals <= 10:
            raise PropsError(
                construct, "required_approvals", required_approvals, "use 1 to 10 (GitHub's limit)"
            )
        checks = list(required_checks)
        if len(set(checks)) != len(checks) or not all(c.strip() == c and c for c in checks):
            raise PropsError(
                construct, "required_checks", checks, "name each check once, exactly (job names)"
            )
        super().__init__(scope, id)
        status_checks = (
            RepositoryRulesetRulesRequiredStatusChecks(
                required_check=[
                    RepositoryRulesetRulesRequiredStatusChecksRequiredCheck(
                        context=check, integration_id=GITHUB_ACTIONS_APP_ID
                    )
                    for check in checks
                ],
                strict_required_status_checks_policy=True,
            )
            if checks
            else None
        )
        self.ruleset = RepositoryRuleset(
            self,
            "ruleset",
            repository=name,
            name=f"protect-{branch.replace('/', '-')}",
            target="branch",
            enforcement="active",
            conditions=RepositoryRulesetConditions(
                ref_name=RepositoryRulesetConditionsRefName(
                    include=[f"refs/heads/{branch}"], exclude=[]
                )
            ),
            rules=RepositoryRulesetRules(
                deletion=True,
                non_fast_forward=True,
                required_linear_history=linear_history,
                pull_request=RepositoryRulesetRulesPullRequest(
                    required_approving_review_count=required_approvals,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=True,
                    required_review_thread_resolution=True,
                ),
                required_status_checks=status_checks,
            ),
        )
