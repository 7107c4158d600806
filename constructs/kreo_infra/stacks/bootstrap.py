"""``kreo-bootstrap``: what the pipeline needs before any other stack can exist.

One per AWS account, applied once by an administrator (docs/operations.md,
"Bootstrap a new account"): the Terraform state bucket every other stack's
backend names, the GitHub Actions OIDC provider, and the roles the workflows
assume.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformOutput
from constructs import Construct

from kreo_infra.cluster.registry import ServiceRepositories
from kreo_infra.config import EnvironmentConfig
from kreo_infra.delivery.access import AccessRole, access_statements
from kreo_infra.delivery.github import (
    DEPLOY_SESSION_SECONDS,
    PLAN_SESSION_SECONDS,
    GithubOidcProvider,
    GithubRole,
    state_access,
)
from kreo_infra.delivery.state import StateBucket
from kreo_infra.errors import PropsError
from kreo_infra.stacks.kreo_stack import KreoStack

READ_ONLY_POLICY = "ReadOnlyAccess"
DEPLOY_POLICY = "AdministratorAccess"

ECR_PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]


class BootstrapStack(KreoStack):
    """The state bucket, the GitHub OIDC provider and the pipeline's roles.

    * ``kreo-plan``: pull requests of this repository; AWS's read-only policy,
      the state (read, and lock files), and explicit denials of reading data
      (S3 objects outside the state, secret values);
    * ``kreo-deploy-<env>`` per environment: jobs of this repository running in
      the GitHub environment ``<env>`` (required reviewers, main only); full
      rights except over this stack's own resources and IAM users;
    * ``kreo-image-push``: the main branch of the application repositories;
      push to the ``<project>/*`` ECR repositories, nothing else.
    """

    layer = "bootstrap"
    account_wide = True

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        environments: Sequence[str],
        services: Sequence[str] = (),
    ) -> None:
        if config.state.region != config.region:
            raise PropsError(
                "BootstrapStack", "state.region", config.state.region,
                f"create the state bucket in the stacks' region ({config.region})",
            )  # fmt: skip
        if not environments:
            raise PropsError("BootstrapStack", "environments", [], "name at least one")
        super().__init__(scope, config=config)
        aws = self.account
        partition, region, account_id = aws.partition, aws.region, aws.account_id
        delivery, state = config.delivery, config.state

        self.state = StateBucket(
            self,
            "state",
            name=state.bucket,
            noncurrent_version_expiry_days=state.noncurrent_version_expiry_days,
            account=aws,
        )
        self.oidc = GithubOidcProvider(self, "github-oidc")
        repository = delivery.github_repository
        state_arn = self.state.arn
        state_objects = f"{state_arn}/{state.key_prefix}/*"
        guarded_roles = [
            f"arn:{partition}:iam::{account_id}:role/{name}"
            for name in (
                delivery.plan_role,
                f"{delivery.deploy_role_prefix}-*",
                delivery.image_push_role,
            )
        ]

        self.plan_role = GithubRole(
            self,
            "plan-role",
            name=delivery.plan_role,
            description=f"terraform plan for pull requests of {repository}",
            provider_arn=self.oidc.arn,
            subjects=[f"repo:{repository}:pull_request"],
            account=aws,
            managed_policies=[READ_ONLY_POLICY],
            max_session_seconds=PLAN_SESSION_SECONDS,
            statements=[
                *state_access(
                    bucket_arn=state_arn,
                    key_arn=self.state.key.arn,
                    key_prefix=state.key_prefix,
                    write=False,
                ),
                {
                    "Sid": "NoDataOutsideTheState",
                    "Effect": "Deny",
                    "Action": "s3:GetObject",
                    "NotResource": state_objects,
                },
                {
                    # The data and platform stacks generate passwords with an
                    # ephemeral resource, evaluated by every plan; the action
                    # returns a random string and has no resource to scope to.
                    "Sid": "GeneratePasswordsForWriteOnlyArguments",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetRandomPassword",
                    "Resource": "*",
                },
                {
                    "Sid": "NoSecretValues",
                    "Effect": "Deny",
                    # A connection token is a GitHub App token (none is used here,
                    # decision 56; denied should one ever be created).
                    "Action": [
                        "secretsmanager:GetSecretValue",
                        "ssm:GetParameter*",
                        "codeconnections:GetConnectionToken",
                        "codestar-connections:GetConnectionToken",
                    ],
                    "Resource": "*",
                },
            ],
        )
        guard = [
            {
                "Sid": "TheBootstrapIsNotTheDeploysToChange",
                "Effect": "Deny",
                "Action": [
                    "s3:DeleteBucket",
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketPolicy",
                    "s3:PutBucketVersioning",
                    "s3:PutEncryptionConfiguration",
                    "s3:PutLifecycleConfiguration",
                    "s3:PutBucketPublicAccessBlock",
                ],
                "Resource": [state_arn, self.state.access_logs.arn],
            },
            {
                "Sid": "NoChangesToThePipelinesOwnIdentity",
                "Effect": "Deny",
                "Action": [
                    "iam:UpdateAssumeRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:DeleteRole",
                    "iam:PutRolePermissionsBoundary",
                    "iam:DeleteRolePermissionsBoundary",
                ],
                "Resource": guarded_roles,
            },
            {
                "Sid": "NoChangesToTheOidcProvider",
                "Effect": "Deny",
                "Action": [
                    "iam:DeleteOpenIDConnectProvider",
                    "iam:UpdateOpenIDConnectProviderThumbprint",
                    "iam:AddClientIDToOpenIDConnectProvider",
                    "iam:RemoveClientIDFromOpenIDConnectProvider",
                ],
                "Resource": self.oidc.arn,
            },
            {
                "Sid": "NoLongLivedCredentials",
                "Effect": "Deny",
                "Action": [
                    "iam:CreateUser",
                    "iam:CreateAccessKey",
                    "iam:CreateLoginProfile",
                    "iam:UpdateLoginProfile",
                ],
                "Resource": "*",
            },
            {
                "Sid": "NoAccountOrOrganizationChanges",
                "Effect": "Deny",
                "Action": ["organizations:*", "account:*"],
                "Resource": "*",
            },
        ]
        self.deploy_roles = {
            environment: GithubRole(
                self,
                f"deploy-role-{environment}",
                name=f"{delivery.deploy_role_prefix}-{environment}",
                description=f"cdktf deploy of {environment} from {repository}",
                provider_arn=self.oidc.arn,
                subjects=[f"repo:{repository}:environment:{environment}"],
                account=aws,
                managed_policies=[DEPLOY_POLICY],
                statements=guard,
                max_session_seconds=DEPLOY_SESSION_SECONDS,
            )
            for environment in environments
        }
        # People's roles, which the clusters' access entries and the search
        # domains name; what each may do there is decided by those (EKS access
        # policies, OpenSearch's fine-grained access control), not here.
        self.access_roles = {
            role: AccessRole(
                self,
                f"access-role-{role}",
                name=role,
                permission_set=permission_set,
                account=aws,
                statements=access_statements(
                    aws, config.project, write=role in config.cluster.admin_role_names
                ),
            )
            for role, permission_set in delivery.access_roles.items()
        }
        # The services' image repositories: the account's, so they exist before
        # the first environment deploys and every environment pulls the same
        # images (defaults: every service of ``config``).
        self.registry = ServiceRepositories(
            self,
            "registry",
            prefix=config.project,
            services=list(services or config.services),
            untagged_expiry_days=config.registry.untagged_expiry_days,
            keep_releases=config.registry.keep_releases,
            account=aws,
        )
        self.image_push_role = GithubRole(
            self,
            "image-push-role",
            name=delivery.image_push_role,
            description="Pushes the marketplace images from the application repositories",
            provider_arn=self.oidc.arn,
            subjects=[f"repo:{app}:ref:refs/heads/main" for app in delivery.app_repositories],
            account=aws,
            statements=[
                {
                    # GetAuthorizationToken has no resource to scope it to.
                    "Sid": "LogInToTheRegistry",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
                {
                    "Sid": "PushTheMarketplaceImages",
                    "Effect": "Allow",
                    "Action": ECR_PUSH_ACTIONS,
                    "Resource": (
                        f"arn:{partition}:ecr:{region}:{account_id}:repository/{config.project}/*"
                    ),
                },
            ],
        )

        outputs = {
            "state-bucket": self.state.name,
            "github-oidc-provider-arn": self.oidc.arn,
            "plan-role-arn": self.plan_role.arn,
            "deploy-role-arns": {e: r.arn for e, r in self.deploy_roles.items()},
            "image-push-role-arn": self.image_push_role.arn,
            "access-role-arns": {n: r.arn for n, r in self.access_roles.items()},
            "repository-urls": {s: r.repository_url for s, r in self.registry.repositories.items()},
        }
        for output_id, value in outputs.items():
            TerraformOutput(self, output_id, value=value)
