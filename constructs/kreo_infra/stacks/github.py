"""``kreo-github``: the GitHub side of the pipeline's trust, as code.

Applied by a repository administrator (an owner of the organisation's
repositories named in ``delivery``) from their own machine, with their own
short-lived GitHub credentials (``gh auth login`` or ``GITHUB_TOKEN``; the
provider reads either, nothing is in config or state), and never by the
pipeline: no workflow holds a token that can change these settings, so a
workflow cannot loosen the gates it runs behind (docs/operations.md, "GitHub
settings as code").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cdktf_cdktf_provider_github.provider import GithubProvider
from constructs import Construct

from kreo_infra.config import EnvironmentConfig
from kreo_infra.delivery.repository import (
    DeploymentEnvironment,
    OidcSubjectTemplate,
    ProtectedBranch,
    WorkflowPermissions,
)
from kreo_infra.errors import PropsError
from kreo_infra.stacks.kreo_stack import KreoStack


def _construct_id(repository: str) -> str:
    """A stable kebab-case construct id for ``owner/name``."""
    return re.sub(r"[^a-z0-9]+", "-", repository.lower()).strip("-")


class GithubStack(KreoStack):
    """The repositories' OIDC subjects, workflow permissions, environments and rulesets.

    Built once (not per environment), from the config of the environment that
    owns the apex (its state bucket and tags; ``build_account`` picks it), for
    ``environments``, the GitHub environments the deploy workflow uses:

    * this repository and every application repository: the OIDC subject
      template (``sub`` names the workflow file, which the roles'
      trust policies pin) and read-only ``GITHUB_TOKEN`` defaults with no
      approving of pull requests by workflows;
    * this repository: a GitHub environment per environment, main only, behind
      ``delivery.approver_teams`` where named, no administrator bypass, and
      ``delivery.update_environment`` for the Renovate workflow, main only; main
      protected by a ruleset requiring a reviewed pull request and
      ``delivery.required_checks``;
    * every application repository: main protected the same way without
      required checks (their CI is theirs to name): the image-push role trusts
      only their release workflow *on main*, so main is what must be reviewed.

    The GitHub provider's ``owner`` is the owner of ``delivery.github_repository``;
    every repository named must belong to it. One stack for all environments,
    ``<project>-github``; its state is ``<key_prefix>/github.tfstate`` in the
    state bucket of ``config``'s environment (the apex owner's: it exists once
    that environment's bootstrap is applied, which must come first anyway, see
    :class:`~kreo_infra.delivery.repository.OidcSubjectTemplate`). The AWS
    provider every Kreo stack carries is unused here (Terraform configures no
    provider that no resource uses); the administrator's AWS credentials of
    that account reach the state.
    """

    layer = "github"
    applied_by_pipeline = False

    @classmethod
    def name_for(cls, config: EnvironmentConfig) -> str:
        """``<project>-github``: one stack, whichever environment builds it."""
        return f"{config.project}-{cls.layer}"

    @property
    def state_key(self) -> str:
        """``<key_prefix>/github.tfstate``: the environments share these settings."""
        return f"{self.config.state.key_prefix}/{self.layer}.tfstate"

    def __init__(
        self, scope: Construct, *, config: EnvironmentConfig, environments: Sequence[str]
    ) -> None:
        delivery = config.delivery
        owner = delivery.github_repository.split("/", 1)[0]
        for repository in delivery.app_repositories:
            if repository.split("/", 1)[0] != owner:
                raise PropsError(
                    "GithubStack",
                    "delivery.app_repositories",
                    repository,
                    f"use repositories of {owner} (the GitHub provider's owner)",
                )
        if not environments:
            raise PropsError("GithubStack", "environments", [], "name at least one")
        for environment in delivery.approver_teams:
            if environment not in environments:
                raise PropsError(
                    "GithubStack",
                    "delivery.approver_teams",
                    environment,
                    f"name one of the environments ({', '.join(environments)})",
                )
        if delivery.update_environment in environments:
            raise PropsError(
                "GithubStack",
                "delivery.update_environment",
                delivery.update_environment,
                f"name an environment that is not a deploy environment ({', '.join(environments)})",
            )
        super().__init__(scope, config=config)
        self.github = GithubProvider(self, "github", owner=owner)
        self.pin_provider("github")

        infra = delivery.github_repository
        repositories = [infra, *delivery.app_repositories]
        self.subject_templates = {
            repository: OidcSubjectTemplate(
                self, f"oidc-subject-{_construct_id(repository)}", repository=repository
            )
            for repository in repositories
        }
        self.workflow_permissions = {
            repository: WorkflowPermissions(
                self, f"workflow-permissions-{_construct_id(repository)}", repository=repository
            )
            for repository in repositories
        }
        self.environments = {
            environment: DeploymentEnvironment(
                self,
                f"environment-{environment}",
                repository=infra,
                environment=environment,
                reviewer_teams=delivery.approver_teams.get(environment, []),
            )
            for environment in environments
        }
        # Renovate's App key (renovate.yml): main only, no reviewers (the weekly run
        # only opens pull requests, which are reviewed like any other).
        self.update_environment = DeploymentEnvironment(
            self,
            f"environment-{delivery.update_environment}",
            repository=infra,
            environment=delivery.update_environment,
        )
        self.protected_branches = {
            infra: ProtectedBranch(
                self,
                f"main-{_construct_id(infra)}",
                repository=infra,
                required_checks=delivery.required_checks,
            ),
            **{
                app: ProtectedBranch(self, f"main-{_construct_id(app)}", repository=app)
                for app in delivery.app_repositories
            },
        }
