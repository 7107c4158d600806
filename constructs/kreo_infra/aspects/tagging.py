"""Tag every taggable AWS resource of a stack with the standard Kreo tags."""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from cdktf import IAspect, TerraformResource
from constructs import IConstruct


def is_taggable(node: IConstruct) -> bool:
    """True for an AWS resource (not a data source) whose type has a ``tags`` argument."""
    return (
        isinstance(node, TerraformResource)
        and node.terraform_resource_type.startswith("aws_")
        and isinstance(getattr(type(node), "tags", None), property)
    )


@jsii.implements(IAspect)
class TaggingAspect:
    """Sets ``tags`` on every taggable AWS resource below the node it is added to.

    A resource keeps its own tags (``Name`` and the like); the standard tags win
    on a clash, so no construct can mislabel its environment or owner. The AWS
    provider's ``default_tags`` carry the same set; this aspect makes them
    explicit in the synthesized JSON, where reviewers, checkov and the tests see
    them, and covers resources that ignore ``default_tags``.
    """

    def __init__(self, tags: Mapping[str, str]) -> None:
        self._tags = dict(tags)

    def visit(self, node: IConstruct) -> None:
        if not is_taggable(node):
            return
        current = node.tags_input  # type: ignore[attr-defined]
        if current is not None and not isinstance(current, Mapping):
            # A token (tags computed at apply time) cannot be merged at synth time.
            raise TypeError(f"{node.node.path}: tags must be a literal mapping to be tagged")
        node.tags = {**(current or {}), **self._tags}  # type: ignore[attr-defined]
