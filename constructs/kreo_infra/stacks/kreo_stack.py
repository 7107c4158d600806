"""The base class of every Kreo stack: provider, state backend, versions and tags."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from cdktf import Aspects, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from kreo_infra.aspects import TaggingAspect
from kreo_infra.aspects.boundary import BoundaryAspect
from kreo_infra.aws import AwsAccount
from kreo_infra.config import EnvironmentConfig
from kreo_infra.delivery.state import state_key_alias
from kreo_infra.errors import PropsError
from kreo_infra.security.guards import boundary_arn
from kreo_infra.stacks.outputs import OUTPUT_KEY
from kreo_infra.tags import standard_tags

Outputs = TypeVar("Outputs")

LOCAL_STATE_DIR = "../../../state"
"""Local state of the administrators' stacks (the bootstrap) until the state bucket
exists, relative to a stack's directory in cdktf.out/stacks/: the project's
``state/`` directory (git-ignored)."""


class KreoStack(TerraformStack):
    """A stack of one environment and one layer, ``<project>-<env>-<layer>``.

    Every subclass gets, without asking:

    * the AWS provider in the environment's region, with the standard tags as
      ``default_tags``, that refuses to act in any account but the environment's
      own (``allowed_account_ids``): credentials of another environment's
      account fail before the first call;
    * its own state object ``<key_prefix>/<env>/<layer>.tfstate`` in the S3 state
      bucket, encrypted with the state key (SSE-KMS), with S3-native locking
      (``use_lockfile``; no DynamoDB);
    * ``required_version`` and the provider versions pinned from config;
    * the :class:`TaggingAspect`, so every taggable resource carries the tags;
    * except in the account's own stack (the bootstrap, which creates it), the
      :class:`BoundaryAspect`: every IAM role carries the pipeline's permissions
      boundary, which the deploy role must set on every role it creates or
      changes (kreo_infra.delivery.guardrails).

    A stack hands later layers one frozen dataclass of what they may read
    (kreo_infra.stacks.outputs), returned by :meth:`publish`, which also writes
    it as Terraform outputs. ``after`` orders this stack after others it reads
    nothing from (controllers and CRDs that must exist first).

    Subclasses set ``layer`` (kebab-case, part of the stack id: never rename it,
    that would orphan its state).
    """

    layer: ClassVar[str]
    account_wide: ClassVar[bool] = False
    """The account's own stack (the bootstrap: one per environment, since every
    environment has an account of its own), applied by an administrator: its state
    starts local (``state.bootstrap_backend``) because it creates the state bucket."""

    outputs: Any = None
    """What this stack hands later layers (a dataclass of kreo_infra.stacks.outputs, set
    by :meth:`publish`); None for a stack nothing reads (platform, GitHub)."""

    applied_by_pipeline: ClassVar[bool] = True
    """The deploy role applies it: its IAM roles carry the pipeline's boundary. False
    for what administrators apply (the bootstrap, the GitHub settings)."""

    @classmethod
    def name_for(cls, config: EnvironmentConfig) -> str:
        """The stack id of this layer in ``config``'s environment."""
        return f"{config.stack_prefix}-{cls.layer}"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        after: Sequence[TerraformStack] = (),
    ) -> None:
        layer = getattr(type(self), "layer", "")
        if not layer or not layer.replace("-", "").isalnum() or layer != layer.lower():
            raise PropsError(type(self).__name__, "layer", layer, "use a kebab-case layer name")
        self.config = config
        self._caller: DataAwsCallerIdentity | None = None
        self._partition: DataAwsPartition | None = None
        self._dr: AwsProvider | None = None
        self.stack_name = self.name_for(config)
        super().__init__(scope, self.stack_name)
        tags = standard_tags(config, self.stack_name)

        self._tags = tags
        self.aws = AwsProvider(
            self,
            "aws",
            region=config.region,
            allowed_account_ids=[config.account_id],
            default_tags=[AwsProviderDefaultTags(tags=tags)],
        )
        state = config.state
        if self.account_wide and state.bootstrap_backend == "local":
            # The bootstrap creates the state bucket, so it starts with local
            # state, outside cdktf.out/ (which `make clean` deletes).
            LocalBackend(self, path=f"{LOCAL_STATE_DIR}/{self.stack_name}.tfstate")
        else:
            S3Backend(
                self,
                bucket=state.bucket,
                key=self.state_key,
                region=state.region,
                encrypt=True,
                # The state bucket's own key (the environment's bootstrap's StateBucket, alias
                # alias/<bucket>): with encrypt and no key, Terraform would write
                # SSE-S3 objects over the bucket's SSE-KMS default.
                kms_key_id=state_key_alias(state.bucket),
            )
            # cdktf 0.21's S3Backend has no use_lockfile argument (Terraform >= 1.10).
            self.add_override("terraform.backend.s3.use_lockfile", True)
        self.add_override("terraform.required_version", config.versions.terraform)
        self.pin_provider("aws")
        Aspects.of(self).add(TaggingAspect(tags))
        if self.applied_by_pipeline and not self.account_wide:
            Aspects.of(self).add(BoundaryAspect(boundary_arn(self.account)))
        for stack in after:
            self.add_dependency(stack)

    def publish(self, outputs: Outputs) -> Outputs:
        """Write every field of ``outputs`` (a dataclass of kreo_infra.stacks.outputs) as a
        Terraform output, named as its field metadata says, and return it: what this
        stack hands the layers after it."""
        for item in dataclasses.fields(outputs):  # type: ignore[arg-type]
            name = item.metadata.get(OUTPUT_KEY, item.name.replace("_", "-"))
            value: Any = getattr(outputs, item.name)
            if name is not None and value is not None:
                TerraformOutput(self, name, value=value)
        self.outputs = outputs
        return outputs

    @property
    def state_key(self) -> str:
        """This stack's state object in the state bucket."""
        return f"{self.config.state.key_prefix}/{self.config.name}/{self.layer}.tfstate"

    @property
    def account_id(self) -> str:
        """The deploying account's id (a token), looked up once per stack when first used."""
        if self._caller is None:
            self._caller = DataAwsCallerIdentity(self, "caller-identity")
        return self._caller.account_id

    @property
    def partition(self) -> str:
        """The AWS partition (``aws``; a token), looked up once per stack when first used."""
        if self._partition is None:
            self._partition = DataAwsPartition(self, "partition")
        return self._partition.partition

    @property
    def account(self) -> AwsAccount:
        """The deploying account, its partition and the environment's region, as one value."""
        return AwsAccount(
            account_id=self.account_id, partition=self.partition, region=self.config.region
        )

    def iam_role_arn(self, role_name: str) -> str:
        """The ARN of IAM role ``role_name`` in the deploying account."""
        return self.account.iam_role_arn(role_name)

    @property
    def dr_provider(self) -> AwsProvider:
        """An AWS provider for the DR region (alias ``dr``), created when first used."""
        if self._dr is None:
            self._dr = AwsProvider(
                self,
                "aws-dr",
                alias="dr",
                region=self.config.dr_region,
                allowed_account_ids=[self.config.account_id],
                default_tags=[AwsProviderDefaultTags(tags=self._tags)],
            )
        return self._dr

    def pin_provider(self, name: str) -> None:
        """Pin provider ``name`` to the version in config (call once per provider used)."""
        version = self.config.versions.providers.get(name)  # type: ignore[call-overload]
        if version is None:
            raise PropsError(
                self.stack_name, "provider", name, "add its version under versions.providers"
            )
        self.add_override(f"terraform.required_providers.{name}.version", version)
