"""Load ``config/<env>.yaml`` over ``config/defaults.yaml`` into typed models.

Any problem becomes one :class:`ConfigError` naming the file, the field path
and what is wrong, e.g.::

    config/production.yaml: cluster.node_groups.general: need min_size <= ...

Nothing here imports cdktf or the providers, so a bad file is reported in a
fraction of a second and before anything is written to ``cdktf.out/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kreo_infra.config.models import (
    DR_COPY_SUFFIX,
    ENVIRONMENT_NAME,
    UNIQUE_NAMES,
    EnvironmentConfig,
    FieldPathError,
)

DEFAULTS_FILE = "defaults.yaml"


class ConfigError(Exception):
    """Invalid configuration: one line naming the file, the field path and the problem."""

    def __init__(self, file: Path | str, path: str, problem: str) -> None:
        self.file = str(file)
        self.path = path
        self.problem = problem
        super().__init__(f"{self.file}: {path}: {problem}" if path else f"{self.file}: {problem}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (for messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> dict[str, Any]:
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(shown, "", f"cannot read file ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}" if mark else "YAML"
        raise ConfigError(shown, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(shown, "", f"invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            shown, "", f"must be a mapping at the top level, not {type(data).__name__}"
        )
    return data


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _format_loc(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (key)"
        else:
            path += f".{part}" if path else str(part)
    return path


def _contains(data: Any, loc: Sequence[Any]) -> bool:
    for part in loc:
        in_mapping = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if in_mapping or in_list:
            data = data[part]
        else:
            return False
    return True


def _index_or_key(part: Any) -> Any:
    """``"[1]"`` (from a :class:`FieldPathError` subpath) back to the list index 1."""
    if isinstance(part, str) and part.startswith("[") and part[1:-1].isdigit():
        return int(part[1:-1])
    return part


def _blames_overrides(defaults: Any, overrides: Any, loc: Sequence[Any]) -> bool:
    """Whether the environment file, rather than the defaults, holds the bad value.

    The deepest part of ``loc`` that either file spells out decides: a value
    the environment file sets is its own; a path neither file reaches in full
    (an unknown key, a key missing from a merged mapping) belongs to the file
    that defines its nearest parent, the environment file first.
    """
    for depth in range(len(loc), 0, -1):
        prefix = loc[:depth]
        if _contains(overrides, prefix):
            return True
        if _contains(defaults, prefix):
            return False
    return True


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    """The field path and the problem of one pydantic error."""
    loc = list(error["loc"])
    problem = error["msg"].removeprefix("Value error, ")
    context_error = (error.get("ctx") or {}).get("error")
    if isinstance(context_error, FieldPathError):
        loc.extend(context_error.subpath.replace("[", ".[").split("."))
    if error["type"] == "extra_forbidden":
        problem = "unknown key"
    elif error["type"] == "missing":
        problem = "required key is missing"
    elif error["type"] not in ("value_error", "assertion_error"):
        problem = f"{problem} (got {error.get('input')!r})"
    return _format_loc(_index_or_key(p) for p in loc if p != ""), problem


def available_environments(config_dir: Path) -> list[str]:
    """Names of the environments defined in ``config_dir`` (every YAML but the defaults)."""
    return sorted(p.stem for p in config_dir.glob("*.yaml") if p.name != DEFAULTS_FILE)


def load_environment(config_dir: Path, name: str) -> EnvironmentConfig:
    """Validate ``<name>.yaml`` merged over the defaults; raise :class:`ConfigError`."""
    known = available_environments(config_dir)
    if name not in known:
        raise ConfigError(
            display_path(config_dir),
            "",
            f"unknown environment {name!r}; known environments: {', '.join(known) or 'none'}",
        )
    if not ENVIRONMENT_NAME.match(name):
        raise ConfigError(
            display_path(config_dir / f"{name}.yaml"),
            "",
            f"environment name {name!r} must be 2-20 lowercase letters or digits",
        )
    defaults_file = config_dir / DEFAULTS_FILE
    env_file = config_dir / f"{name}.yaml"
    defaults = _read_yaml(defaults_file)
    overrides = _read_yaml(env_file)
    if "name" in overrides:
        raise ConfigError(display_path(env_file), "name", "is the file name; remove the key")
    try:
        return EnvironmentConfig.model_validate({**deep_merge(defaults, overrides), "name": name})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        blame = env_file if _blames_overrides(defaults, overrides, loc) else defaults_file
        path, problem = _describe(first)
        more = exc.error_count() - 1
        if more:
            problem += f" (and {more} more error{'s' if more > 1 else ''})"
        raise ConfigError(display_path(blame), path, problem) from None


def load_environments(
    config_dir: Path,
    names: Sequence[str] | None = None,
    *,
    chart_names: Sequence[str] | None = None,
) -> list[EnvironmentConfig]:
    """Load ``names`` (default: every environment in ``config_dir``), in the order given,
    after checking every environment of the account together (:func:`check_account`)
    and, given ``chart_names`` (the add-on registry's: main.py passes them), that each
    pins exactly those charts (:func:`check_chart_pins`)."""
    known = available_environments(config_dir)
    wanted = list(names) if names else known
    if not wanted:
        raise ConfigError(display_path(config_dir), "", "no environment files found")
    loaded = {name: load_environment(config_dir, name) for name in [*known, *wanted]}
    check_account(config_dir, [loaded[name] for name in known])
    if chart_names is not None:
        check_chart_pins(config_dir, [loaded[name] for name in known], chart_names)
    return [loaded[name] for name in wanted]


def check_chart_pins(
    config_dir: Path, configs: Sequence[EnvironmentConfig], chart_names: Sequence[str]
) -> None:
    """Raise :class:`ConfigError` unless each environment pins exactly ``chart_names``
    (``platform.charts``): an add-on without a pin cannot be released, a pin without
    an add-on would be ignored silently.

    The first problem is reported, with its key: a missing pin against the defaults
    (where the pins live), a pin that names no add-on against the file that spells it
    out (the environment's own first).
    """
    defaults_file = config_dir / DEFAULTS_FILE
    for config in configs:
        pinned = config.platform.charts
        missing = [name for name in chart_names if name not in pinned]
        if missing:
            raise ConfigError(
                display_path(defaults_file),
                f"platform.charts.{missing[0]}",
                f"pin a chart version for the add-on {missing[0]} "
                f"(kreo_infra/platform/addons/{missing[0].replace('-', '_')}.py)",
            )
        unknown = sorted(name for name in pinned if name not in chart_names)
        if unknown:
            env_file = config_dir / f"{config.name}.yaml"
            loc = ("platform", "charts", unknown[0])
            blamed = (
                env_file
                if _blames_overrides(_read_yaml(defaults_file), _read_yaml(env_file), loc)
                else defaults_file
            )
            raise ConfigError(
                display_path(blamed),
                f"platform.charts.{unknown[0]}",
                f"no add-on of that name (kreo_infra/platform/addons/); "
                f"the add-ons are {', '.join(chart_names)}",
            )


SHARED_SETTINGS = (
    "project",
    "delivery",
    "registry",
    "dns.apex",
    "cluster.admin_role_names",
    "cluster.readonly_role_names",
)
"""What every environment shares across the accounts: one project, one pipeline
(the same repository, role names and people's roles in every account), one
image registry and one apex domain. The environments must agree on all of it."""

SHARED_ROLE_NAMES = ("dns", "break-glass", "pipeline-boundary", "registry-replication")
"""Names ``<project>-<name>…`` the bootstraps take besides ``delivery``'s roles:
the apex owner's DNS delegation roles (``kreo-dns-*``), the break-glass role,
the pipeline's permissions boundary and the apex owner's ECR replication role."""


def _get(config: EnvironmentConfig, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _first_difference(path: str, mine: Any, theirs: Any) -> tuple[str, Any, Any]:
    """The deepest field under ``path`` where two values differ."""
    if isinstance(mine, BaseModel) and type(mine) is type(theirs):
        for field in type(mine).model_fields:
            a, b = getattr(mine, field), getattr(theirs, field)
            if a != b:
                return _first_difference(f"{path}.{field}", a, b)
    return path, mine, theirs


def _unique_names(config: EnvironmentConfig) -> list[tuple[str, str, str]]:
    """``(namespace, field path, value)`` of every name no two environments may share."""
    names = [("S3 bucket names are global", path, _get(config, path)) for path in UNIQUE_NAMES]
    if config.storage.replicate_to_dr_region:
        copy = f"{config.storage.media_bucket}{DR_COPY_SUFFIX}"
        names.append(("S3 bucket names are global", "storage.media_bucket (its DR copy)", copy))
    names.append(("Route53 would create a second public zone", "dns.domain", config.dns.domain))
    names.append(("EKS cluster names are unique per account", "cluster.name", config.cluster_name))
    return names


def _account_roles(config: EnvironmentConfig) -> list[str]:
    """The IAM role names (and the deploy roles' prefix) the bootstraps own."""
    delivery = config.delivery
    return [
        delivery.deploy_role_prefix,
        delivery.plan_role,
        delivery.image_push_role,
        delivery.drill_role,
        *delivery.access_roles,
        *(f"{config.project}-{name}" for name in SHARED_ROLE_NAMES),
    ]


def apex_owner(configs: Sequence[EnvironmentConfig]) -> EnvironmentConfig:
    """The environment whose domain is the apex (production): its account holds what
    the environments share, the apex zone and the image registry. The loader has
    checked there is exactly one (:func:`check_account`)."""
    return next(c for c in configs if c.dns.domain == c.dns.apex and c.recovery_of is None)


def parent_of(
    config: EnvironmentConfig, configs: Sequence[EnvironmentConfig]
) -> EnvironmentConfig | None:
    """The environment whose zone ``config``'s zone is delegated from, if any."""
    parent = config.dns.delegate_from
    own = (c for c in configs if c.dns.domain == parent and c.recovery_of is None)
    return next(own, None) if parent else None


RECOVERED_NAMES = ("dns.domain", "storage.media_bucket")
"""A recovery environment's names that are the recovered environment's own: its
zone, and its media bucket's DR copy (what a recovery serves media from)."""


def _check_recovery_sources(
    file: str, config: EnvironmentConfig, recovered: EnvironmentConfig
) -> None:
    """What a recovery of ``recovered`` rebuilds from exists, and it copies nothing back.

    The recovered environment replicates its media, its secrets and its database's
    automated backups to its DR region; the recovery serves media from that copy,
    restores from those backups (in its own region and account), and replicates
    nothing itself until fail-back (docs/runbooks/disaster-recovery.md)."""
    for path, replicated in (
        ("storage.replicate_to_dr_region", recovered.storage.replicate_to_dr_region),
        ("secrets.replicate_to_dr_region", recovered.secrets.replicate_to_dr_region),
        ("backup.copy_to_dr_region", recovered.backup.copy_to_dr_region),
    ):
        if not replicated:
            raise ConfigError(
                file,
                "recovery_of",
                f"{recovered.name}'s {path} is off: a recovery rebuilds from what "
                f"{recovered.name} replicates to {recovered.dr_region}",
            )
        if _get(config, path):
            raise ConfigError(
                file,
                path,
                f"a recovery of {recovered.name} replicates nothing back to "
                f"{config.dr_region} until fail-back (use false)",
            )
    copy = f"{recovered.storage.media_bucket}{DR_COPY_SUFFIX}"
    if config.storage.media_bucket != copy:
        raise ConfigError(
            file,
            "storage.media_bucket",
            f"{config.storage.media_bucket!r}: a recovery of {recovered.name} serves media "
            f"from its DR copy (use {copy!r})",
        )
    assert config.restore is not None  # the model requires it with recovery_of
    arn = config.restore.automated_backups_arn.split(":")
    for path, mine, theirs in (
        ("region", arn[3], config.region),
        ("account", arn[4], config.account_id),
    ):
        if mine != theirs:
            raise ConfigError(
                file,
                "restore.automated_backups_arn",
                f"names {path} {mine!r}: the replicated backups are in this "
                f"environment's {path} ({theirs!r})",
            )


def check_account(config_dir: Path, configs: Sequence[EnvironmentConfig]) -> None:
    """Rules across the environments; raise :class:`ConfigError`.

    * each has an AWS account of its own (``account_id``), but a recovery environment
      (``recovery_of``), which runs in the account and DR region of the one it rebuilds;
    * they agree on :data:`SHARED_SETTINGS` (one pipeline, registry and apex);
    * no two share a globally or account-unique name (buckets, zones, clusters);
    * exactly one owns the apex zone (``dns.domain`` equal to ``dns.apex``);
    * a zone delegated from a parent has that parent among them, created here, and
      it is the nearest one; no environment's domain is another's host name;
    * no environment's name takes the bootstrap's role names (``kreo-deploy-*``).
    """

    def file_of(config: EnvironmentConfig) -> str:
        return display_path(config_dir / f"{config.name}.yaml")

    if not configs:
        return
    first = configs[0]
    for config in configs:
        for role in _account_roles(first):
            if role == config.stack_prefix or role.startswith(f"{config.stack_prefix}-"):
                raise ConfigError(
                    file_of(config),
                    "name",
                    f"{config.name!r} names the account's role {role!r} "
                    f"({config.stack_prefix}-* roles would be taken for the environment's)",
                )
    by_name = {c.name: c for c in configs}
    for config in configs:
        if config.recovery_of is None:
            continue
        recovered = by_name.get(config.recovery_of)
        if recovered is None or recovered.recovery_of is not None:
            raise ConfigError(
                file_of(config),
                "recovery_of",
                f"{config.recovery_of!r} is no environment of its own: name one of "
                f"{', '.join(sorted(c.name for c in configs if c.recovery_of is None))}",
            )
        for path, mine, theirs in (
            ("account_id", config.account_id, recovered.account_id),
            ("region", config.region, recovered.dr_region),
            ("state.region", config.state.region, recovered.dr_region),
            ("dns.domain", config.dns.domain, recovered.dns.domain),
            ("dns.zone", config.dns.zone, "existing"),
        ):
            if mine != theirs:
                raise ConfigError(
                    file_of(config),
                    path,
                    f"{mine!r}: a recovery of {recovered.name} runs in its account and "
                    f"DR region and serves its domain from its zone (use {theirs!r})",
                )
        _check_recovery_sources(file_of(config), config, recovered)
    accounts: dict[str, EnvironmentConfig] = {}
    for config in configs:
        if config.recovery_of is not None:
            continue  # in the account of the environment it rebuilds (checked above)
        other = accounts.setdefault(config.account_id, config)
        if other is not config:
            raise ConfigError(
                file_of(config),
                "account_id",
                f"{config.account_id!r} is also {other.name}'s account ({file_of(other)}): "
                "each environment has an account of its own, so one's pipeline cannot "
                "reach another's resources",
            )
    for config in configs[1:]:
        for setting in SHARED_SETTINGS:
            mine, theirs = _get(config, setting), _get(first, setting)
            if mine != theirs:
                path, value, other = _first_difference(setting, mine, theirs)
                raise ConfigError(
                    file_of(config),
                    path,
                    f"{value!r} differs from {first.name}'s {other!r}: every environment "
                    "shares it (one pipeline, registry and apex)",
                )
    seen: dict[tuple[str, str], tuple[EnvironmentConfig, str]] = {}
    for config in configs:
        for namespace, path, value in _unique_names(config):
            if config.recovery_of is not None and path in RECOVERED_NAMES:
                continue  # the recovered environment's zone and media copy (checked above)
            other = seen.get((namespace, value))
            if other is not None:
                owner, owner_path = other
                raise ConfigError(
                    file_of(config),
                    path,
                    f"{value!r} is also {owner.name}'s {owner_path} in {file_of(owner)} "
                    f"({namespace}; unset names follow the file name)",
                )
            seen[(namespace, value)] = (config, path)
    # The zones and hosts: the environments of their own (a recovery serves the
    # recovered environment's).
    configs = [c for c in configs if c.recovery_of is None]
    owners = [c for c in configs if c.dns.domain == c.dns.apex]
    if len(owners) != 1:
        blamed = owners[1] if owners else first
        problem = (
            f"{blamed.dns.apex!r} is also {owners[0].name}'s domain"
            if owners
            else f"no environment has the apex {first.dns.apex!r} as its domain; one must own it"
        )
        raise ConfigError(file_of(blamed), "dns.domain", problem)
    hosts = {
        fqdn: (c, field)
        for c in configs
        for field, fqdn in (
            ("api_host", c.dns.api_fqdn),
            ("www_host", c.dns.www_fqdn),
            ("vendors_host", c.dns.vendors_fqdn),
            ("cdn_host", c.dns.cdn_fqdn),
        )
    }
    for config in configs:
        if config.dns.domain in hosts:
            owner, field = hosts[config.dns.domain]
            raise ConfigError(
                file_of(config),
                "dns.domain",
                f"{config.dns.domain!r} is {owner.name}'s dns.{field} ({file_of(owner)}): a zone "
                "there would take the name over",
            )
    created = {c.dns.domain for c in configs if c.dns.zone == "create"}
    for config in configs:
        parent, domain = config.dns.delegate_from, config.dns.domain
        nearest = max((d for d in created if domain.endswith(f".{d}")), key=len, default=None)
        if parent is not None and parent not in created:
            raise ConfigError(
                file_of(config),
                "dns.delegate_from",
                f"no environment creates the zone {parent!r}",
            )
        if config.dns.zone == "create" and nearest is not None and parent != nearest:
            raise ConfigError(
                file_of(config),
                "dns.delegate_from",
                f"{parent!r}: {domain!r} must be delegated from {nearest!r}, the nearest zone "
                "created by an environment, or resolvers never find it",
            )


def parse_environment_list(value: str | None) -> list[str] | None:
    """``KREO_ENVIRONMENTS`` ("production,staging" or "production staging") as a list."""
    if not value or not value.strip():
        return None
    return [part for part in value.replace(",", " ").split() if part]
