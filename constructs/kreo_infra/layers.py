"""Stack names in deployment order, without loading cdktf (for ``main.py --stacks``)."""

from __future__ import annotations

from collections.abc import Sequence

from kreo_infra.config import EnvironmentConfig

ACCOUNT_LAYERS = ("bootstrap",)
"""The account's own stacks, ``<project>-<env>-<layer>`` (each environment has an
account of its own), applied by an administrator, not by the pipeline."""

GITHUB_LAYER = "github"
"""``<project>-github``: the repositories' GitHub settings, one stack for every
environment, applied by a repository administrator (never the pipeline)."""

ENVIRONMENT_LAYERS = (
    "base",
    "network",
    "edge",
    "cluster",
    "data",
    "platform",
    "app",
    "backup",
    "observability",
)
"""One stack per environment, ``<project>-<env>-<layer>``, in deployment order: the
one list of layers (``kreo_infra.app.build_environment`` builds exactly these, in
this order, and refuses to wire any other). Importable without cdktf."""


PHASES: dict[str, tuple[str, ...]] = {
    "infrastructure": ("base", "network", "edge", "cluster", "data"),
    "workloads": ("platform", "app", "backup", "observability"),
}
"""An environment's deploy in two phases, in order. ``infrastructure`` calls AWS
APIs only (any runner can apply it); ``workloads`` holds the Helm/Kubernetes
stacks, which need the private cluster API (runners in the VPC), and what
reads them. Between the two, the deploy checks that every secret has a value
and every image exists (``make preflight STAGE=workloads``)."""


def environment_stacks(config: EnvironmentConfig, phase: str | None = None) -> list[str]:
    """The stacks of ``config``'s environment (of one ``phase``), in deployment order."""
    if phase is not None and phase not in PHASES:
        raise ValueError(f"phase {phase!r}: use one of {', '.join(PHASES)}")
    layers = PHASES[phase] if phase else ENVIRONMENT_LAYERS
    return [f"{config.stack_prefix}-{layer}" for layer in layers]


def first_deploy_order(configs: Sequence[EnvironmentConfig]) -> list[str]:
    """Every step of a first deploy into fresh accounts, in an order that works.

    Stack ids, and ``# ...`` lines for the steps that are not stacks. The
    bootstraps come first, one per environment's account (an administrator
    applies them; they create the state buckets, the pipeline's roles, and in
    the apex owner's account the image repositories and the zone delegation
    roles); then the images are pushed; then, for an environment whose zone is
    delegated from another environment's (staging.kreo.com from kreo.com), that
    other environment's edge stack comes before it, because the delegation record
    goes into its zone. Environments whose zone others delegate from (production)
    deploy last, as the pipeline deploys them: staging rehearses every change
    first. Each environment deploys in its two phases, its secret values set
    between.
    """
    # A recovery environment is deployed in a disaster only (its runbook's order).
    configs = [c for c in configs if c.recovery_of is None]
    if not configs:
        return []
    parents = {c.dns.delegate_from for c in configs if c.dns.delegate_from}
    configs = sorted(configs, key=lambda c: c.dns.domain in parents)
    owners_first = sorted(configs, key=lambda c: c.dns.domain != c.dns.apex)
    steps = [f"{c.stack_prefix}-{layer}" for c in owners_first for layer in ACCOUNT_LAYERS]
    steps.append(
        f"# a repository administrator applies {configs[0].project}-{GITHUB_LAYER} with a GitHub "
        "token (OIDC subjects, environments, rulesets)"
    )
    steps.append(f"{configs[0].project}-{GITHUB_LAYER}")
    steps.append(
        "# in each account, import the runners' GitHub source credential (CodeBuild); "
        "then push the images"
    )
    done: set[str] = set()
    by_domain = {c.dns.domain: c for c in configs}
    for config in configs:
        parent = by_domain.get(config.dns.delegate_from or "")
        if parent is not None and parent is not config:
            edge = f"{parent.stack_prefix}-edge"
            if edge not in done:
                steps.append(edge)
                done.add(edge)
        for phase in PHASES:
            if phase == "workloads":
                steps.append(f"# set the secret values of {config.name} (make preflight)")
            for stack in environment_stacks(config, phase):
                if stack not in done:
                    steps.append(stack)
                    done.add(stack)
    return steps


def all_stacks(configs: Sequence[EnvironmentConfig]) -> list[str]:
    """Every environment's bootstrap (a recovery environment has none), then its stacks
    in deployment order; then the repositories' GitHub settings."""
    return [
        name
        for config in configs
        for name in (
            *(f"{config.stack_prefix}-{layer}" for layer in account_layers(config)),
            *environment_stacks(config),
        )
    ] + ([f"{configs[0].project}-{GITHUB_LAYER}"] if configs else [])


def account_layers(config: EnvironmentConfig) -> tuple[str, ...]:
    """The account's stacks ``config``'s environment has: none for a recovery
    environment (``recovery_of``), whose account is the recovered environment's."""
    return () if config.recovery_of else ACCOUNT_LAYERS
