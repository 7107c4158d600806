"""The app layer: the marketplace services, their identities and their Helm values."""
