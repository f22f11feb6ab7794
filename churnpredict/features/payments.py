"""PLACEHOLDER being replaced: payments features."""

from __future__ import annotations

from ._base import FeatureBuilder


class PaymentFeatures(FeatureBuilder):
    """Placeholder."""

    tables = ("__missing__",)
    group = "payments"

    def feature_info(self):
        return []
