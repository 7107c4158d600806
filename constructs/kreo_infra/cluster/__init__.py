"""The cluster layer: EKS control plane, nodes, add-ons, workload identity, registries."""
