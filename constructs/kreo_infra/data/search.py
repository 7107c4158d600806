"""Amazon OpenSearch Service: the marketplace's search, private and encrypted."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.cloudwatch_log_resource_policy import (
    CloudwatchLogResourcePolicy,
)
from cdktf_cdktf_provider_aws.opensearch_domain import (
    OpensearchDomain,
    OpensearchDomainAdvancedSecurityOptions,
    OpensearchDomainAdvancedSecurityOptionsMasterUserOptions,
    OpensearchDomainClusterConfig,
    OpensearchDomainClusterConfigZoneAwarenessConfig,
    OpensearchDomainDomainEndpointOptions,
    OpensearchDomainEbsOptions,
    OpensearchDomainEncryptAtRest,
    OpensearchDomainLogPublishingOptions,
    OpensearchDomainNodeToNodeEncryption,
    OpensearchDomainSnapshotOptions,
    OpensearchDomainSoftwareUpdateOptions,
    OpensearchDomainVpcOptions,
)
from constructs import Construct

from kreo_infra.data.tier import DataPlacement, DataTier
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import policy_document

PORT = 443
TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"
LOG_TYPES = {
    "INDEX_SLOW_LOGS": "index-slow",
    "SEARCH_SLOW_LOGS": "search-slow",
    "ES_APPLICATION_LOGS": "application",
    "AUDIT_LOGS": "audit",
}
DEDICATED_MASTERS = 3
ZONES = 3
"""The zones a zone-aware domain spreads over."""


class SearchDomain(Construct):
    """An OpenSearch domain in the database subnets.

    * OpenSearch ``engine_version``, ``instance_count`` data nodes (default 3)
      of ``instance_type`` with ``volume_size_gb`` of gp3 each;
    * with ``zone_awareness`` (default on), the data nodes spread over three
      zones (so their count is a multiple of 3 and the placement gives three
      subnets); without, the domain uses the first subnet;
    * with a ``dedicated_master_type`` (default none) three dedicated master
      nodes;
    * encrypted at rest (rotating key) and node to node; HTTPS only, TLS 1.2+;
    * fine-grained access control whose master is the IAM role
      ``master_role_arn`` (no internal users, so no master password anywhere);
    * the domain's access policy admits only ``client_role_arns`` and the master;
    * slow, application and audit logs to encrypted log groups;
    * reachable on 443 from the ``placement``'s client group only.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        placement: DataPlacement,
        engine_version: str,
        instance_type: str,
        volume_size_gb: int,
        master_role_arn: str,
        client_role_arns: Sequence[str],
        instance_count: int = 3,
        zone_awareness: bool = True,
        dedicated_master_type: str | None = None,
    ) -> None:
        zones = ZONES if zone_awareness else 1
        if instance_count < 1 or instance_count % zones:
            raise PropsError(
                "SearchDomain", "instance_count", instance_count,
                f"use a positive multiple of {zones} (the zones the data nodes spread over)",
            )  # fmt: skip
        if len(placement.subnet_ids) < zones:
            raise PropsError(
                "SearchDomain", "placement.subnet_ids", list(placement.subnet_ids),
                f"give {zones} subnets (one per zone)",
            )  # fmt: skip
        super().__init__(scope, id)
        account = placement.account
        region, account_id, partition = account.region, account.account_id, account.partition
        tier = DataTier(self, name=name, store="search", port=PORT, placement=placement)
        domain_name = tier.resource_name
        domain_arn = f"arn:{partition}:es:{region}:{account_id}:domain/{domain_name}"
        self.key = tier.key(description=f"Encrypts the search indices of {name}")
        self.security_group = tier.security_group(
            description="OpenSearch: HTTPS from the data clients"
        )
        logs = {
            log_type: tier.log_group(
                f"{short}-logs",
                name=f"/aws/opensearch/{domain_name}/{short}",
                key_alias=f"alias/{name}-search-{short}-logs",
                description=f"the OpenSearch {short} logs of {name}",
            )
            for log_type, short in LOG_TYPES.items()
        }
        log_policy = CloudwatchLogResourcePolicy(
            self,
            "log-delivery",
            policy_name=f"{domain_name}-log-delivery",
            policy_document=policy_document(
                [
                    {
                        "Sid": "OpenSearchWritesItsLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "es.amazonaws.com"},
                        "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
                        "Resource": [f"{g.arn_pattern}:*" for g in logs.values()],
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": account_id},
                            "ArnLike": {"aws:SourceArn": domain_arn},
                        },
                    }
                ]
            ),
        )
        masters = dedicated_master_type is not None
        self.domain = OpensearchDomain(
            self,
            "domain",
            domain_name=domain_name,
            engine_version=engine_version,
            cluster_config=OpensearchDomainClusterConfig(
                instance_type=instance_type,
                instance_count=instance_count,
                zone_awareness_enabled=zone_awareness,
                zone_awareness_config=OpensearchDomainClusterConfigZoneAwarenessConfig(
                    availability_zone_count=ZONES
                )
                if zone_awareness
                else None,
                dedicated_master_enabled=masters,
                dedicated_master_type=dedicated_master_type,
                dedicated_master_count=DEDICATED_MASTERS if masters else None,
            ),
            ebs_options=OpensearchDomainEbsOptions(
                ebs_enabled=True, volume_type="gp3", volume_size=volume_size_gb
            ),
            encrypt_at_rest=OpensearchDomainEncryptAtRest(enabled=True, kms_key_id=self.key.arn),
            node_to_node_encryption=OpensearchDomainNodeToNodeEncryption(enabled=True),
            domain_endpoint_options=OpensearchDomainDomainEndpointOptions(
                enforce_https=True, tls_security_policy=TLS_POLICY
            ),
            advanced_security_options=OpensearchDomainAdvancedSecurityOptions(
                enabled=True,
                anonymous_auth_enabled=False,
                internal_user_database_enabled=False,
                master_user_options=OpensearchDomainAdvancedSecurityOptionsMasterUserOptions(
                    master_user_arn=master_role_arn
                ),
            ),
            access_policies=policy_document(
                [
                    {
                        "Sid": "ApplicationRolesOnly",
                        "Effect": "Allow",
                        "Principal": {"AWS": [master_role_arn, *client_role_arns]},
                        "Action": ["es:ESHttp*"],
                        "Resource": f"{domain_arn}/*",
                    }
                ]
            ),
            vpc_options=OpensearchDomainVpcOptions(
                subnet_ids=list(placement.subnet_ids)[:zones],
                security_group_ids=[self.security_group.id],
            ),
            log_publishing_options=[
                OpensearchDomainLogPublishingOptions(
                    log_type=log_type, cloudwatch_log_group_arn=group.arn, enabled=True
                )
                for log_type, group in logs.items()
            ],
            snapshot_options=OpensearchDomainSnapshotOptions(automated_snapshot_start_hour=3),
            software_update_options=OpensearchDomainSoftwareUpdateOptions(
                auto_software_update_enabled=True
            ),
            depends_on=[log_policy],
        )
