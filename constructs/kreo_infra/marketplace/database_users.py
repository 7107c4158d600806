"""The PostgreSQL roles of the marketplace services: one naming rule, used by the
IAM policies (app layer) and by the chart's role bootstrap job alike."""

from __future__ import annotations

READER_SUFFIX = "_reader"


def database_user(service: str) -> str:
    """The login role ``service`` writes with (``order-service`` → ``order_service``);
    it owns the schema of the same name."""
    return service.replace("-", "_")


def database_reader(service: str) -> str:
    """The read-only login role of ``service`` (``order_service_reader``): SELECT on
    its own schema, for the read path (the replicas)."""
    return f"{database_user(service)}{READER_SUFFIX}"
