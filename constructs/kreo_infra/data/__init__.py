"""The data layer: PostgreSQL, Valkey, OpenSearch, media storage, application secrets."""
