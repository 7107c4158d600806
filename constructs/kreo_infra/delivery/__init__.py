"""The delivery layer: the Terraform state bucket and the GitHub Actions OIDC roles."""
