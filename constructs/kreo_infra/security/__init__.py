"""Security building blocks shared by the layers (KMS keys, IAM documents)."""
