"""Aspects applied to every Kreo stack."""

from kreo_infra.aspects.tagging import TaggingAspect, is_taggable

__all__ = ["TaggingAspect", "is_taggable"]
