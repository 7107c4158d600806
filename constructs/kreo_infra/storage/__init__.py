"""Shared S3 building blocks: private buckets, access-log buckets and the policy
statements CloudFront and S3 need. Any layer may use them (edge, data, delivery,
security); none of them knows a layer."""
