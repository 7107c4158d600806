"""Find the Terraform CLI and the provider plugins, the way Terraform itself does.

Where to look, in order (docs/testing.md):

1. the CLI: ``$KREO_TERRAFORM``, else ``terraform`` on ``PATH``;
2. provider plugins: the directories in ``$KREO_TF_PLUGIN_MIRROR`` (``os.pathsep``
   separated), then the ``filesystem_mirror`` paths and ``plugin_cache_dir`` of the
   user's CLI config (``$TF_CLI_CONFIG_FILE``, else ``~/.terraformrc``), then
   Terraform's implied local mirror directories
   (``~/.terraform.d/plugins``, ``$XDG_DATA_HOME/terraform/plugins``,
   ``$XDG_DATA_DIRS/*/terraform/plugins``);
3. the public registry, only when ``$KREO_TF_REGISTRY`` is ``1`` (the GitHub
   workflows set it). Otherwise nothing is downloaded and no network is touched.

The harness never edits the user's CLI config: it writes its own
(``<cache>/terraformrc``) and points ``TF_CLI_CONFIG_FILE`` at it for the
processes it starts.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

NAMESPACE = "hashicorp"
"""The namespace of ``"source": "aws"`` (and helm, kubernetes): Terraform's default one,
on its default registry host, which addresses written without a host mean."""

_MIRROR_BLOCK = re.compile(r"filesystem_mirror\s*\{[^}]*?path\s*=\s*\"([^\"]+)\"", re.S)
_CACHE_DIR = re.compile(r"^\s*plugin_cache_dir\s*=\s*\"([^\"]+)\"", re.M)
_PACKED = re.compile(
    r"terraform-provider-(?P<name>[a-z0-9-]+)_(?P<version>[^_]+)_(?P<arch>.+)\.zip"
)


MIN_TERRAFORM = (1, 11)
"""``terraform test`` with ``mock_provider`` needs 1.7; the stacks' write-only
arguments (generated passwords) need 1.11."""


class ToolchainError(RuntimeError):
    """No usable Terraform CLI: the message says what was looked for."""


def os_arch() -> str:
    """Terraform's platform name for this machine (``linux_amd64``)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


@dataclass(frozen=True)
class Toolchain:
    """What the harness runs Terraform with."""

    terraform: Path
    terraform_version: str
    mirrors: tuple[Path, ...]
    """Directories holding provider plugins (mirror layout), in search order."""
    available: Mapping[str, tuple[str, ...]]
    """Provider name (``aws``) → versions found in the mirrors, newest first."""
    registry: bool
    """Whether ``terraform init`` may download from the public registry."""
    cli_config: Path
    sources: tuple[str, ...] = field(default=())
    """Where each mirror came from (for the report)."""

    def versions(self, provider: str) -> tuple[str, ...]:
        return tuple(self.available.get(provider, ()))

    def has(self, provider: str, version: str) -> bool:
        return self.registry or version in self.versions(provider)

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment for a Terraform process: our CLI config, no phoning home,
        no AWS credentials or metadata lookups leaking in from the caller."""
        env = {k: v for k, v in base.items() if not k.startswith(("AWS_", "TF_"))}
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            AWS_EC2_METADATA_DISABLED="true",
            # Not even the user's AWS config or credential files (profiles,
            # credential_process, SSO) are reachable from a check.
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        return env

    def describe(self) -> str:
        """One paragraph for the report: what was used."""
        lines = [f"terraform {self.terraform_version} ({self.terraform})"]
        for mirror, source in zip(self.mirrors, self.sources, strict=True):
            lines.append(f"provider mirror {mirror} (from {source})")
        for name, versions in sorted(self.available.items()):
            lines.append(f"  {name}: {', '.join(versions)}")
        lines.append("registry: " + ("allowed" if self.registry else "not used (offline)"))
        lines.append(f"CLI config: {self.cli_config}")
        return "\n".join(lines)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.-]", version))


def scan_mirror(path: Path, arch: str | None = None) -> dict[str, list[str]]:
    """Provider versions under a mirror directory (``<host>/hashicorp/<name>/…``,
    packed or unpacked layout) for this platform."""
    arch = arch or os_arch()
    found: dict[str, set[str]] = {}
    providers = [p for ns in sorted(path.glob(f"*/{NAMESPACE}")) for p in ns.iterdir()]
    for provider in providers:
        for entry in provider.iterdir() if provider.is_dir() else ():
            if entry.is_dir() and (entry / arch).is_dir():
                found.setdefault(provider.name, set()).add(entry.name)
            match = _PACKED.fullmatch(entry.name)
            if match and match["arch"] == arch and match["name"] == provider.name:
                found.setdefault(provider.name, set()).add(match["version"])
    return {name: sorted(v, key=_version_key, reverse=True) for name, v in found.items()}


def _user_cli_config_dirs(env: Mapping[str, str], home: Path) -> list[tuple[Path, str]]:
    config = Path(env["TF_CLI_CONFIG_FILE"]) if env.get("TF_CLI_CONFIG_FILE") else None
    config = config or home / ".terraformrc"
    if not config.is_file():
        return []
    text = config.read_text(encoding="utf-8", errors="replace")
    paths = _MIRROR_BLOCK.findall(text) + _CACHE_DIR.findall(text)
    return [(Path(os.path.expanduser(p)), f"CLI config {config}") for p in paths]


def _implied_dirs(env: Mapping[str, str], home: Path) -> list[tuple[Path, str]]:
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local/share")
    data_dirs = (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    dirs = [home / ".terraform.d/plugins", data_home / "terraform/plugins"]
    dirs += [Path(d) / "terraform/plugins" for d in data_dirs if d]
    return [(d, "Terraform's implied local mirror") for d in dirs]


def discover(env: Mapping[str, str], cache_dir: Path, *, home: Path | None = None) -> Toolchain:
    """Find the CLI and the plugins; write the harness's CLI config into ``cache_dir``.

    Raises :class:`ToolchainError` when there is no Terraform CLI at all.
    """
    home = home or Path(env.get("HOME") or Path.home())
    explicit = env.get("KREO_TERRAFORM")
    binary = explicit or shutil.which("terraform", path=env.get("PATH"))
    if not binary or not Path(binary).is_file():
        raise ToolchainError(
            "no Terraform CLI: set KREO_TERRAFORM or put terraform (>= 1.11) on PATH"
        )
    result = subprocess.run(  # noqa: S603 - a binary we located, fixed arguments
        [binary, "version", "-json"],
        capture_output=True,
        text=True,
        env={"CHECKPOINT_DISABLE": "1", "PATH": env.get("PATH", "")},
        check=True,
    )
    version = json.loads(result.stdout)["terraform_version"]
    if _version_key(version)[:2] < MIN_TERRAFORM:
        raise ToolchainError(
            f"terraform {version} at {binary} is too old: the checks need >= "
            f"{'.'.join(map(str, MIN_TERRAFORM))} (write-only arguments in the stacks)"
        )

    candidates: list[tuple[Path, str]] = [
        (Path(p), "KREO_TF_PLUGIN_MIRROR")
        for p in (env.get("KREO_TF_PLUGIN_MIRROR") or "").split(os.pathsep)
        if p
    ]
    candidates += _user_cli_config_dirs(env, home) + _implied_dirs(env, home)
    mirrors: list[Path] = []
    sources: list[str] = []
    available: dict[str, list[str]] = {}
    for path, source in candidates:
        found = scan_mirror(path)
        if not found or path.resolve() in mirrors:
            continue
        mirrors.append(path.resolve())
        sources.append(source)
        for name, versions in found.items():
            merged = set(available.get(name, ())) | set(versions)
            available[name] = sorted(merged, key=_version_key, reverse=True)

    registry = env.get("KREO_TF_REGISTRY") == "1"
    cache_dir.mkdir(parents=True, exist_ok=True)
    cli_config = cache_dir / "terraformrc"
    plugin_cache = cache_dir / "plugin-cache" if registry else None
    text = cli_config_text(mirrors, sorted(available), registry, plugin_cache)
    _write_if_changed(cli_config, text)
    return Toolchain(
        terraform=Path(binary),
        terraform_version=version,
        mirrors=tuple(mirrors),
        available={k: tuple(v) for k, v in available.items()},
        registry=registry,
        cli_config=cli_config,
        sources=tuple(sources),
    )


def _write_if_changed(path: Path, text: str) -> None:
    """Replace ``path`` atomically, and only when its text changes: Terraform
    processes of a run already under way may be reading it."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def cli_config_text(
    mirrors: list[Path], providers: list[str], registry: bool, plugin_cache: Path | None = None
) -> str:
    """The harness's CLI config: the mirrors for what they hold; the registry only
    when allowed (without a ``direct`` block Terraform downloads nothing). With
    the registry, downloads go to ``plugin_cache`` once, not once per stack
    (:func:`kreo_infra.tfcheck.runner.warm_plugin_cache` fills it first)."""
    # Addresses without a host: Terraform's default registry host, as in the stacks.
    addresses = json.dumps([f"{NAMESPACE}/{p}" for p in providers])
    blocks = [
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(m))}\n"
        f"    include = {addresses}\n  }}\n"
        for m in mirrors
    ]
    if registry:
        blocks.append("  direct {}\n")
    if not blocks:
        # Nothing to install from: an empty mirror list still has to be valid.
        blocks.append('  filesystem_mirror {\n    path = "/nonexistent"\n  }\n')
    cache = ""
    if plugin_cache is not None:
        plugin_cache.mkdir(parents=True, exist_ok=True)
        cache = (
            f"plugin_cache_dir = {json.dumps(str(plugin_cache))}\n"
            "plugin_cache_may_break_dependency_lock_file = true\n"
        )
    return (
        "# Written by kreo_infra.tfcheck for the processes it starts; never the user's.\n"
        + cache
        + "provider_installation {\n"
        + "".join(blocks)
        + "}\n"
    )
