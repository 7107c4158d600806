"""Alerting building blocks: the encrypted SNS topic alarms and findings notify."""
