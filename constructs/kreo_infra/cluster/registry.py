"""ECR repositories for the marketplace services."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.kms import RotatingKey


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
    ) -> None:
        super().__init__(scope, id)
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
                policy=lifecycle_rules(
                    untagged_expiry_days=untagged_expiry_days, keep_releases=keep_releases
                ),
            )
            self.repositories[service] = repository
