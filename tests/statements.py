"""Reading IAM statements in tests: ``Action`` and ``Resource`` may be a string or a list."""

from __future__ import annotations

from typing import Any


def resources(statement: dict[str, Any]) -> list[str]:
    """The statement's ``Resource``, as a list."""
    value = statement["Resource"]
    return [value] if isinstance(value, str) else list(value)


def actions(statement: dict[str, Any]) -> list[str]:
    """The statement's ``Action``, as a list."""
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)
