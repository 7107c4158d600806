"""A fake AWS account for the preflight tests: moto for IAM, Route 53, ECR and Secrets
Manager; botocore Stubbers for EKS add-on versions and CodeBuild source credentials
(moto has neither). :meth:`FakeAccount.prepare` makes every check pass; tests then break one thing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from kreo_infra.config import EnvironmentConfig

TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {},
        "layers": [],
    }
)
CREDENTIAL_ARN = "arn:aws:codebuild:us-east-1:123456789012:token/{server}"


@contextmanager
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with fake credentials, so no request can reach a real account."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@functools.cache
def _session() -> boto3.Session:
    """One session for every fake account: a new one per client reloaded botocore's
    endpoint and service models (~50 ms a client, ~10 s over the module). moto's
    backends are still fresh per test (``mock_aws`` resets them); the session only
    caches the models and the fake credentials ``mocked_aws`` sets."""
    return boto3.Session()


class FakeAccount:
    """The clients the checks get, over one moto account and two Stubbers."""

    def __init__(self, config: EnvironmentConfig) -> None:
        self.config = config
        region = config.region
        self.moto = {
            name: _session().client(name, region_name=region)
            for name in ("iam", "route53", "ecr", "secretsmanager")
        }
        self.eks = _session().client("eks", region_name=region)
        self.eks_stub = Stubber(self.eks)
        self.codebuild = _session().client("codebuild", region_name=region)
        self.codebuild_stub = Stubber(self.codebuild)
        # moto cannot answer for replicated automated backups (it ignores the ARN).
        self.rds = _session().client("rds", region_name=region)
        self.rds_stub = Stubber(self.rds)
        self.eks_stub.activate()
        self.codebuild_stub.activate()
        self.rds_stub.activate()

    def client(self, service: str) -> Any:
        """The client factory handed to the checks."""
        stubbed = {"eks": self.eks, "codebuild": self.codebuild, "rds": self.rds}
        return stubbed.get(service) or self.moto[service]

    def __getattr__(self, service: str) -> Any:
        if service in ("iam", "route53", "ecr", "secretsmanager"):
            return self.moto[service]
        raise AttributeError(service)

    def prepare(self) -> FakeAccount:
        """Everything the checks look for, present and right."""
        config = self.config
        for role in [
            *config.cluster.admin_role_names,
            *config.cluster.readonly_role_names,
            config.deploy_role,
        ]:
            self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
        for service_name, service in config.services.items():
            repository = f"{config.project}/{service_name}"
            self.ecr.create_repository(repositoryName=repository)
            tag = service.image_tag or config.application.image_tag
            self.push(repository, tag)
        for name in config.secrets.names:
            self.secretsmanager.create_secret(
                Name=f"{config.secrets_prefix}{name}", SecretString="value"
            )
        parent = config.dns.delegate_from
        if parent is not None:
            parent_id = self.zone(parent)
            child_id = self.zone(config.dns.domain)
            servers = self.name_servers(child_id)
            self.ns_record(parent_id, config.dns.domain, servers)
        if config.restore is not None:
            arn = config.restore.automated_backups_arn
            self.rds_stub.add_response(
                "describe_db_instance_automated_backups",
                {"DBInstanceAutomatedBackups": [{"Status": "replicating"}]},
                {"DBInstanceAutomatedBackupsArn": arn},
            )
        return self

    def push(self, repository: str, tag: str) -> None:
        self.ecr.put_image(repositoryName=repository, imageManifest=MANIFEST, imageTag=tag)

    def zone(self, name: str, *, private: bool = False) -> str:
        extra: dict[str, Any] = {}
        if private:
            extra = {
                "HostedZoneConfig": {"PrivateZone": True, "Comment": "private"},
                "VPC": {"VPCRegion": self.config.region, "VPCId": "vpc-12345678"},
            }
        created = self.route53.create_hosted_zone(
            Name=name, CallerReference=f"{name}-{private}", **extra
        )
        return str(created["HostedZone"]["Id"])

    def name_servers(self, zone_id: str) -> list[str]:
        return list(self.route53.get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"])

    def ns_record(self, zone_id: str, name: str, values: list[str]) -> None:
        change = {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": name,
                "Type": "NS",
                "TTL": 172800,
                "ResourceRecords": [{"Value": value} for value in values],
            },
        }
        self.route53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Changes": [change]}
        )

    def offer_addons(self, offered: dict[str, list[tuple[str, str]]] | None = None) -> None:
        """Queue one DescribeAddonVersions page per pinned add-on, in config order.

        ``offered`` replaces an add-on's (version, cluster version) pairs; by
        default each add-on offers its pinned version for the cluster's version.
        """
        kubernetes = self.config.cluster.kubernetes_version
        for addon, pinned in self.config.cluster.addons.items():
            pairs = (offered or {}).get(addon, [(pinned, kubernetes)])
            self.eks_stub.add_response(
                "describe_addon_versions",
                {"addons": [{"addonName": addon, "addonVersions": versions(pairs)}]},
                {"addonName": addon, "kubernetesVersion": kubernetes},
            )

    def source_credential(self, auth_type: str | None = "PERSONAL_ACCESS_TOKEN") -> None:
        """Queue a ListSourceCredentials answer: a Bitbucket credential, then a GitHub one
        of ``auth_type`` (``None``: no GitHub credential)."""
        infos = [
            {
                "arn": CREDENTIAL_ARN.format(server="bitbucket"),
                "serverType": "BITBUCKET",
                "authType": "BASIC_AUTH",
            }
        ]
        if auth_type is not None:
            infos.append(
                {
                    "arn": CREDENTIAL_ARN.format(server="github"),
                    "serverType": "GITHUB",
                    "authType": auth_type,
                }
            )
        self.codebuild_stub.add_response(
            "list_source_credentials", {"sourceCredentialsInfos": infos}, {}
        )

    def all_stubs_used(self) -> None:
        self.eks_stub.assert_no_pending_responses()
        self.codebuild_stub.assert_no_pending_responses()
        self.rds_stub.assert_no_pending_responses()


def versions(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """``addonVersions`` entries: each version compatible with one cluster version."""
    return [
        {"addonVersion": version, "compatibilities": [{"clusterVersion": cluster}]}
        for version, cluster in pairs
    ]
