"""Cluster Autoscaler as released: what it discovers and which nodes it may remove."""

from __future__ import annotations

from kreo_infra.config import load_environments
from kreo_infra.platform.addons import cluster_autoscaler
from tests.conftest import CONFIG_DIR
from tests.kreo_infra.platform.addons.conftest import RELEASE_INPUTS, Platform
from tests.runtime.capacity import load_upstream

NAME = "cluster-autoscaler"


def test_autoscaler_minor_is_the_clusters() -> None:
    """Cluster Autoscaler is meant for the Kubernetes minor it was built for: the
    app the pinned chart runs (its ``appVersion`` and ``image.tag``; our values set
    no image) must match ``cluster.kubernetes_version``. A Kubernetes upgrade needs a chart
    whose appVersion has the new minor, and a chart bump must not move the app
    to another minor.

    The chart's upstream.yaml row is at the pinned version (tests/test_capacity.py
    fails until it is re-read at a new tag). Cite: kubernetes/autoscaler @
    cluster-autoscaler-chart-9.59.0, cluster-autoscaler/charts/cluster-autoscaler/
    Chart.yaml line 2 (``appVersion: 1.35.0``), values.yaml line 306 (``image.tag
    v1.35.0``); cluster-autoscaler/README.md lines 48-50 (use it with the control
    plane minor it was meant for; its versions match Kubernetes minors).
    """
    assert "image" not in cluster_autoscaler.values(RELEASE_INPUTS)
    row = load_upstream()["charts"][NAME]
    app_minor = ".".join(str(row["facts"]["app_version"]).removeprefix("v").split(".")[:2])
    for config in load_environments(CONFIG_DIR):
        assert str(config.platform.charts[NAME].version) == str(row["version"])
        assert app_minor == str(config.cluster.kubernetes_version)


def test_cluster_autoscaler_discovers_this_cluster(platform: Platform) -> None:
    config = platform.config
    values = platform.values("cluster-autoscaler")
    assert values["autoDiscovery"] == {"clusterName": config.cluster_name}
    assert values["awsRegion"] == config.region


def test_autoscaler_removes_nodes_with_scratch_space(platform: Platform) -> None:
    """Every marketplace pod has a /tmp emptyDir; with the default
    (--skip-nodes-with-local-storage=true) no node would ever be removed."""
    args = platform.values("cluster-autoscaler")["extraArgs"]
    assert args["skip-nodes-with-local-storage"] is False
    assert args["balance-similar-node-groups"] is True
    # The chart strips "_<n>" from keys: the flag repeats, one label each.
    ignored = {v for k, v in args.items() if k.startswith("balancing-ignore-label_")}
    assert ignored == {
        "node.kubernetes.io/instance-type",
        "beta.kubernetes.io/instance-type",
        "eks.amazonaws.com/nodegroup-image",
    }
