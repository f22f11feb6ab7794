"""PLACEHOLDER being replaced: profile features."""

from __future__ import annotations

from ._base import FeatureBuilder


class ProfileFeatures(FeatureBuilder):
    """Placeholder."""

    tables = ("__missing__",)
    group = "profile"

    def feature_info(self):
        return []
