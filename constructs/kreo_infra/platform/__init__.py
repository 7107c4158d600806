"""The platform layer: cluster add-ons as pinned Helm releases."""
