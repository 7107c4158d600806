"""``kreo-<env>-observability``: the alarm topic, alarms on every tier, and a dashboard."""

from __future__ import annotations

import json

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.data_aws_lb import DataAwsLb
from cdktf_cdktf_provider_aws.data_aws_lb_target_group import DataAwsLbTargetGroup
from constructs import Construct

from kreo_infra.alerting.topic import AlarmTopic
from kreo_infra.config import EnvironmentConfig
from kreo_infra.edge.waf import CLOUDFRONT_REGION
from kreo_infra.observability.alarms import AlarmSet
from kreo_infra.observability.catalog import (
    backup_alarms,
    cache_alarms,
    cdn_alarms,
    cluster_alarms,
    database_alarms,
    load_balancer_alarms,
    search_alarms,
    search_dimensions,
)
from kreo_infra.observability.dashboard import dashboard_body
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import (
    BackupOutputs,
    ClusterOutputs,
    DataOutputs,
    EdgeOutputs,
    ObservabilityOutputs,
)
from kreo_infra.workloads import APP_NAMESPACE, INGRESS_NAME


class ObservabilityStack(KreoStack):
    """Alarms on the database, cache, search, backups, load balancer, cluster and
    CDN, each notifying the environment's topic on ALARM and on OK, and a dashboard.

    The API's load balancer is created by the AWS Load Balancer Controller from
    the marketplace Ingress, so this stack finds it (and its target groups) by
    the tags the controller sets: it is deployed after the app layer, once the
    load balancer exists. Which alarms each tier gets is
    ``observability.catalog``; thresholds come from ``observability.alarms`` in
    the environment's config.
    """

    layer = "observability"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        edge: EdgeOutputs,
        cluster: ClusterOutputs,
        data: DataOutputs,
        backup: BackupOutputs,
        app: TerraformStack,
    ) -> None:
        """``app``: the app stack, of which nothing is read; the load balancer exists
        once the app is released, so this stack comes after it."""
        super().__init__(scope, config=config, after=[app])
        name = config.stack_prefix
        settings = config.observability
        thresholds = settings.alarms
        aws = self.account
        self.topic = AlarmTopic(
            self,
            "alarm-topic",
            name=config.alarm_topic_name,
            emails=settings.alarm_emails,
            pager_url=settings.pager_url,
            account=aws,
        )
        # CloudWatch alarms notify topics of their own region; CloudFront's
        # metrics (and so its alarms) live in us-east-1. A recovery environment
        # has no distributions of its own (edge.distribution_ids is empty).
        self.cdn_topic = (
            None
            if not edge.distribution_ids
            else self.topic
            if config.region == CLOUDFRONT_REGION
            else AlarmTopic(
                self,
                "cdn-alarm-topic",
                name=f"{name}-cdn-alarms",
                emails=settings.alarm_emails,
                pager_url=settings.pager_url,
                account=aws,
                region=CLOUDFRONT_REGION,
            )
        )
        self.alarms = AlarmSet(
            self,
            "alarms",
            prefix=name,
            topic_arn=self.topic.arn,
            regional_topic_arns={CLOUDFRONT_REGION: self.cdn_topic.arn} if self.cdn_topic else {},
        )

        lb_tags = {
            "elbv2.k8s.aws/cluster": config.cluster_name,
            "ingress.k8s.aws/stack": f"{APP_NAMESPACE}/{INGRESS_NAME}",
        }
        self.load_balancer = DataAwsLb(self, "api-load-balancer", tags=lb_tags)
        target_groups = {
            service_name: DataAwsLbTargetGroup(
                self,
                f"target-group-{service_name}",
                tags={
                    **lb_tags,
                    "ingress.k8s.aws/resource": (
                        f"{APP_NAMESPACE}/{INGRESS_NAME}-{service_name}:{service.port}"
                    ),
                },
            ).arn_suffix
            for service_name, service in config.services.items()
        }
        zones = len(config.network.availability_zone_ids)
        minimum_nodes = sum(g.node_bounds(zones)[0] for g in config.cluster.node_groups.values())
        specs = (
            *database_alarms(
                primary=data.database_identifier,
                replicas=data.database_replica_identifiers,
                proxy=data.database_proxy_name,
                thresholds=thresholds.database,
            ),
            *cache_alarms(nodes=data.cache_member_ids, thresholds=thresholds.cache),
            *search_alarms(
                domain_name=data.search_domain_name,
                account_id=self.account_id,
                thresholds=thresholds.search,
            ),
            *backup_alarms(vault_name=backup.vault_name),
            *load_balancer_alarms(
                load_balancer=self.load_balancer.arn_suffix,
                target_groups=target_groups,
                thresholds=thresholds.load_balancer,
            ),
            *cluster_alarms(
                cluster_name=cluster.cluster_name,
                minimum_nodes=minimum_nodes,
                namespace=APP_NAMESPACE,
                services=config.services,
                thresholds=thresholds.cluster,
            ),
            *cdn_alarms(
                distributions=edge.distribution_ids,
                region=CLOUDFRONT_REGION,
                thresholds=thresholds.cdn,
            ),
        )
        for spec in specs:
            self.alarms.add(spec)

        body = dashboard_body(
            region=config.region,
            cdn_region=CLOUDFRONT_REGION,
            alarm_arns=[a.arn for a in self.alarms.alarms.values()],
            database=data.database_identifier,
            cache_nodes=data.cache_member_ids,
            search=search_dimensions(
                domain_name=data.search_domain_name, account_id=self.account_id
            ),
            load_balancer=self.load_balancer.arn_suffix,
            cluster_name=cluster.cluster_name,
            distributions=edge.distribution_ids,
        )
        self.dashboard = CloudwatchDashboard(
            self, "dashboard", dashboard_name=name, dashboard_body=json.dumps(body)
        )
        self.publish(
            ObservabilityOutputs(
                alarm_topic_arn=self.topic.arn,
                alarm_names=[a.alarm_name for a in self.alarms.alarms.values()],
                dashboard_name=name,
            )
        )
