"""A Helm release pinned to one chart version, installed all-or-nothing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from cdktf import AssetType, ITerraformDependable, TerraformAsset, TerraformProvider
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from kreo_infra.config.models import HelmChart
from kreo_infra.errors import PropsError
from kreo_infra.platform.values import Values

DEFAULT_TIMEOUT_SECONDS = 600
"""Ten minutes: enough for images to pull and webhooks to become ready on new nodes."""

MAX_HISTORY = 10


class PinnedRelease(Construct):
    """``chart`` at exactly its pinned version, in ``namespace``.

    ``atomic`` (a failed install or upgrade rolls back), ``wait`` (the release
    is done when its workloads are ready), ``cleanup_on_fail``, a timeout and a
    bounded history are always on. ``values`` are Python data rendered to YAML
    here, once. ``depends_on`` orders releases (CRDs before their users).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        namespace: str,
        values: Values,
        provider: TerraformProvider,
        chart: HelmChart | None = None,
        local_chart_path: str | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
        timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(scope, id)
        if (chart is None) == (local_chart_path is None):
            raise PropsError(
                "PinnedRelease", "chart", chart, "give a pinned chart or a local chart path"
            )
        self.values = values
        self.release = Release(
            self,
            "release",
            name=name,
            namespace=namespace,
            repository=chart.repository if chart else None,
            chart=chart.chart if chart else local_chart_path,
            version=chart.version if chart else None,
            values=[yaml.safe_dump(values, sort_keys=True)],
            atomic=True,
            wait=True,
            cleanup_on_fail=True,
            create_namespace=False,
            timeout=timeout_seconds,
            max_history=MAX_HISTORY,
            provider=provider,
            depends_on=list(depends_on) or None,
        )


def local_chart_release(
    scope: Construct,
    *,
    chart: str,
    charts_dir: Path,
    asset_id: str,
    namespace: str,
    values: Values,
    provider: TerraformProvider,
    depends_on: Sequence[ITerraformDependable] = (),
) -> PinnedRelease:
    """The project's own chart ``charts_dir/<chart>``, released as ``chart``.

    The chart directory travels with the synthesized stack as an asset
    (construct ``asset_id`` in ``scope``), so a plan or deploy from
    ``cdktf.out/`` needs nothing else from the checkout; the release
    (construct id and release name ``chart``, in ``scope`` too) installs it
    from there. Both ids are part of the synthesized output: never rename one.
    """
    asset = TerraformAsset(scope, asset_id, path=str(charts_dir / chart), type=AssetType.DIRECTORY)
    return PinnedRelease(
        scope,
        chart,
        name=chart,
        namespace=namespace,
        local_chart_path=asset.path,
        values=values,
        provider=provider,
        depends_on=depends_on,
    )
