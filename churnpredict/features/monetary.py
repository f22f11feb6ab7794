"""PLACEHOLDER being replaced: monetary features."""

from __future__ import annotations

from ._base import FeatureBuilder


class MonetaryFeatures(FeatureBuilder):
    """Placeholder."""

    tables = ("__missing__",)
    group = "monetary"

    def feature_info(self):
        return []
