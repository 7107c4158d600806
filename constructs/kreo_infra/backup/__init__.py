"""The backup layer: AWS Backup vaults and plans, and RDS backup replication."""
