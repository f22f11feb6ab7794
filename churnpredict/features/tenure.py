"""PLACEHOLDER being replaced: tenure features."""

from __future__ import annotations

from ._base import FeatureBuilder


class TenureFeatures(FeatureBuilder):
    """Placeholder."""

    tables = ("__missing__",)
    group = "tenure"

    def feature_info(self):
        return []
