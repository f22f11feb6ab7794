"""PLACEHOLDER being replaced: support features."""

from __future__ import annotations

from ._base import FeatureBuilder


class SupportFeatures(FeatureBuilder):
    """Placeholder."""

    tables = ("__missing__",)
    group = "support"

    def feature_info(self):
        return []
