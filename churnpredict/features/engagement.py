"""PLACEHOLDER being replaced: engagement features."""

from __future__ import annotations

from ._base import FeatureBuilder


class EngagementFeatures(FeatureBuilder):
    """Placeholder."""

    tables = ("__missing__",)
    group = "engagement"

    def feature_info(self):
        return []
