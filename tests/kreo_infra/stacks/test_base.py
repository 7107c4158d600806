"""kreo-<env>-base: the environment's resource group."""

from __future__ import annotations

import json

from tests.conftest import Synthesis


def test_resource_group_selects_the_environment(synthesis: Synthesis) -> None:
    for config in synthesis.configs:
        stack = synthesis.stack(f"{config.stack_prefix}-base")
        group = stack["resource"]["aws_resourcegroups_group"]["resource-group"]
        assert group["name"] == config.stack_prefix
        assert group["resource_query"]["type"] == "TAG_FILTERS_1_0"
        assert json.loads(group["resource_query"]["query"]) == {
            "ResourceTypeFilters": ["AWS::AllSupported"],
            "TagFilters": [
                {"Key": "Project", "Values": ["kreo"]},
                {"Key": "Environment", "Values": [config.name]},
            ],
        }


def test_resource_group_arn_is_an_output(synthesis: Synthesis) -> None:
    for config in synthesis.configs:
        stack = synthesis.stack(f"{config.stack_prefix}-base")
        assert stack["output"]["resource-group-arn"]["value"] == (
            "${aws_resourcegroups_group.resource-group.arn}"
        )
