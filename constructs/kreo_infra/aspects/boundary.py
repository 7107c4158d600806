"""Give every IAM role of a stack the pipeline's permissions boundary."""

from __future__ import annotations

from collections.abc import Collection

import jsii
from cdktf import IAspect
from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import IConstruct


@jsii.implements(IAspect)
class BoundaryAspect:
    """Sets ``permissions_boundary`` to ``boundary_arn`` on every ``aws_iam_role``
    below the node it is added to, except roles named in ``exempt_roles`` (default
    none: the pipeline's own roles and the break-glass role live in the bootstrap
    stack, which does not get this aspect). A role that already names a boundary
    must name this one: a construct cannot opt out silently.
    """

    def __init__(self, boundary_arn: str, *, exempt_roles: Collection[str] = ()) -> None:
        self._boundary = boundary_arn
        self._exempt = frozenset(exempt_roles)

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, IamRole) or node.name_input in self._exempt:
            return
        current = node.permissions_boundary_input
        if current is not None and current != self._boundary:
            raise ValueError(
                f"{node.node.path}: permissions_boundary {current!r} is not {self._boundary!r}"
            )
        node.permissions_boundary = self._boundary
