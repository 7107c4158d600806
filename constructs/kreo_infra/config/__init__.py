"""Environment configuration: typed models and the YAML loader."""

from kreo_infra.config.loader import ConfigError, load_environment, load_environments
from kreo_infra.config.models import EnvironmentConfig

__all__ = ["ConfigError", "EnvironmentConfig", "load_environment", "load_environments"]
