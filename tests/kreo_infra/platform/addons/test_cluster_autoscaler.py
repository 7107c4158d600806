"""Cluster Autoscaler as released: what it discovers and which nodes it may remove."""

from __future__ import annotations

from tests.kreo_infra.platform.addons.conftest import Platform


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
