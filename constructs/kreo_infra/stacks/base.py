"""``kreo-<env>-base``: what belongs to the environment as a whole, not to one layer."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.resourcegroups_group import (
    ResourcegroupsGroup,
    ResourcegroupsGroupResourceQuery,
)
from constructs import Construct

from kreo_infra.config import EnvironmentConfig
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import BaseOutputs


class BaseStack(KreoStack):
    """The environment's base layer, deployed first and depended on by nothing yet.

    It holds the environment's resource group: every resource tagged with this
    project and environment, whichever stack made it, in one console view (and
    one ``aws resource-groups list-group-resources`` call for runbooks).
    """

    layer = "base"

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, config=config)
        query = {
            "ResourceTypeFilters": ["AWS::AllSupported"],
            "TagFilters": [
                {"Key": "Project", "Values": [config.project]},
                {"Key": "Environment", "Values": [config.name]},
            ],
        }
        self.resource_group = ResourcegroupsGroup(
            self,
            "resource-group",
            name=config.stack_prefix,
            description=f"Every resource of the {config.project} {config.name} environment",
            resource_query=ResourcegroupsGroupResourceQuery(
                type="TAG_FILTERS_1_0", query=json.dumps(query, sort_keys=True)
            ),
        )
        self.publish(BaseOutputs(resource_group_arn=self.resource_group.arn))
