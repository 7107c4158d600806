"""ECR repositories for the marketplace services."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_replication_configuration import (
    EcrReplicationConfiguration,
    EcrReplicationConfigurationReplicationConfiguration,
    EcrReplicationConfigurationReplicationConfigurationRule,
    EcrReplicationConfigurationReplicationConfigurationRuleDestination,
    EcrReplicationConfigurationReplicationConfigurationRuleRepositoryFilter,
)
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from cdktf_cdktf_provider_aws.ecr_repository_creation_template import (
    EcrRepositoryCreationTemplate,
    EcrRepositoryCreationTemplateEncryptionConfiguration,
)
from cdktf_cdktf_provider_aws.ecr_repository_policy import EcrRepositoryPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import policy_document, service_trust
from kreo_infra.security.kms import RotatingKey

PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
]
"""What a node needs to pull an image (AmazonEC2ContainerRegistryReadOnly's pull
actions). ECR decrypts the layers under its own KMS grant on the repository's key,
so a puller in another account needs no key permission
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html)."""

ROLE_ARN = re.compile(r"^arn:[^:]+:iam::(?P<account>\d{12}):role/[\w+=,.@/-]+$")
"""A role ARN with a literal account (the partition may be a token)."""


def lifecycle_rules(*, untagged_expiry_days: int, keep_releases: int) -> str:
    """Expire untagged images after ``untagged_expiry_days``; keep the newest ``keep_releases``."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {untagged_expiry_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the last {keep_releases} releases",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_releases,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


class ServiceRepositories(Construct):
    """One ECR repository ``<prefix>/<service>`` per service.

    Tags are immutable (a tag names one image forever, so a rollout is
    reproducible and reviewable), every push is scanned, images are encrypted
    with a rotating KMS key, and a lifecycle policy keeps the registry small.

    ``pull_role_arns`` are roles of *other* accounts (the other environments'
    node roles) that may pull: a repository policy names their accounts as
    principals and each role exactly (``aws:PrincipalArn``, so the roles need
    not exist yet when the policy is set), for the pull actions only. Default:
    none, only this account's principals (through IAM) pull.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        services: Sequence[str],
        untagged_expiry_days: int,
        keep_releases: int,
        account: AwsAccount,
        pull_role_arns: Sequence[str] = (),
    ) -> None:
        for arn in pull_role_arns:
            if not ROLE_ARN.match(arn) or "*" in arn:
                raise PropsError(
                    "ServiceRepositories", "pull_role_arns", arn, "name IAM roles by exact ARN"
                )
        super().__init__(scope, id)
        self.prefix = prefix
        self.lifecycle_policy = lifecycle_rules(
            untagged_expiry_days=untagged_expiry_days, keep_releases=keep_releases
        )
        self.pull_policy = cross_account_pull(pull_role_arns) if pull_role_arns else None
        if not services or len(set(services)) != len(services):
            raise PropsError(
                "ServiceRepositories", "services", list(services), "name each service once"
            )
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{prefix}-ecr",
            description=f"Encrypts the {prefix}/* container images",
            account=account,
        )
        self.repositories: dict[str, EcrRepository] = {}
        for service in services:
            repository = EcrRepository(
                self,
                service,
                name=f"{prefix}/{service}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=EcrRepositoryImageScanningConfiguration(
                    scan_on_push=True
                ),
                encryption_configuration=[
                    EcrRepositoryEncryptionConfiguration(
                        encryption_type="KMS", kms_key=self.key.arn
                    )
                ],
                force_delete=False,
            )
            EcrLifecyclePolicy(
                self,
                f"{service}-lifecycle",
                repository=repository.name,
                policy=self.lifecycle_policy,
            )
            if self.pull_policy:
                EcrRepositoryPolicy(
                    self,
                    f"{service}-pull",
                    repository=repository.name,
                    policy=self.pull_policy,
                )
            self.repositories[service] = repository


class RegistryReplication(Construct):
    """The registry's ``<prefix>/*`` images replicated to ``region`` (this account's
    registry there), into repositories set up as ``repositories``' own.

    ECR creates the replicas' repositories itself, with its defaults (mutable
    tags, AES-256, no lifecycle or repository policy) unless a repository
    creation template for ``REPLICATION`` matches their prefix: the template
    here gives them immutable tags, a key of their own in ``region``, the same
    lifecycle and the same cross-account pull policy. ECR creates them with a
    KMS key only through a role of ours (``role_name``: create the ``<prefix>/*``
    repositories there, replicate into them, use that key)
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html).
    Only images pushed after the replication exists are copied
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html): the
    runbook re-pushes the deployed tags once.

    The key and the template live in ``region`` (the provider's per-resource
    region: the stack keeps one AWS provider); the replication rule is the
    registry's, in the stack's own region.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repositories: ServiceRepositories,
        region: str,
        role_name: str,
        account: AwsAccount,
        permissions_boundary: str | None = None,
    ) -> None:
        if region == account.region:
            raise PropsError(
                "RegistryReplication", "region", region, "name another region than the registry's"
            )
        super().__init__(scope, id)
        prefix = repositories.prefix
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{prefix}-ecr",
            description=f"Encrypts the {prefix}/* container images replicated to {region}",
            account=account,
            region=region,
        )
        self.role = IamRole(
            self,
            "role",
            name=role_name,
            description=f"ECR creates the {prefix}/* replica repositories in {region}",
            assume_role_policy=service_trust("ecr.amazonaws.com"),
            permissions_boundary=permissions_boundary,
        )
        IamRolePolicy(
            self,
            "role-policy",
            name="permissions",
            role=self.role.id,
            policy=policy_document(
                [
                    {
                        "Sid": "CreateTheReplicaRepositories",
                        "Effect": "Allow",
                        "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
                        "Resource": (
                            f"arn:{account.partition}:ecr:{region}:{account.account_id}:"
                            f"repository/{prefix}/*"
                        ),
                    },
                    {
                        "Sid": "EncryptThemWithTheirKey",
                        "Effect": "Allow",
                        "Action": ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"],
                        "Resource": self.key.arn,
                    },
                ]
            ),
        )
        self.template = EcrRepositoryCreationTemplate(
            self,
            "template",
            prefix=prefix,
            applied_for=["REPLICATION"],
            description=f"The {prefix}/* replicas: as the primary region's repositories",
            custom_role_arn=self.role.arn,
            image_tag_mutability="IMMUTABLE",
            encryption_configuration=[
                EcrRepositoryCreationTemplateEncryptionConfiguration(
                    encryption_type="KMS", kms_key=self.key.arn
                )
            ],
            lifecycle_policy=repositories.lifecycle_policy,
            repository_policy=repositories.pull_policy,
            region=region,
        )
        self.replication = EcrReplicationConfiguration(
            self,
            "replication",
            replication_configuration=EcrReplicationConfigurationReplicationConfiguration(
                rule=[
                    EcrReplicationConfigurationReplicationConfigurationRule(
                        destination=[
                            EcrReplicationConfigurationReplicationConfigurationRuleDestination(
                                region=region, registry_id=account.account_id
                            )
                        ],
                        repository_filter=[
                            EcrReplicationConfigurationReplicationConfigurationRuleRepositoryFilter(
                                filter=f"{prefix}/", filter_type="PREFIX_MATCH"
                            )
                        ],
                    )
                ]
            ),
            # The first replica repository is created with the template.
            depends_on=[self.template],
        )


def cross_account_pull(role_arns: Sequence[str]) -> str:
    """A repository policy: ``role_arns`` (other accounts' roles) may pull, nothing else."""
    partition = role_arns[0].split(":")[1]
    accounts = sorted({ROLE_ARN.match(arn)["account"] for arn in role_arns})  # type: ignore[index]
    return policy_document(
        [
            {
                "Sid": "TheOtherEnvironmentsNodesPull",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:{partition}:iam::{a}:root" for a in accounts]},
                "Action": PULL_ACTIONS,
                "Condition": {"ArnEquals": {"aws:PrincipalArn": sorted(role_arns)}},
            }
        ]
    )
