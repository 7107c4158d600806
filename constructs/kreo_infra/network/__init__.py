"""The network layer: subnet planning and the VPC constructs."""
