"""churnpredict: predict which customers are about to churn, explain why, rank who to call."""

from ._version import __version__
from .data import EventData, load_config
from .exceptions import (
    BundleError,
    ChurnDataError,
    ChurnModelError,
    DataQualityWarning,
    LeakageWarning,
)
from .features import (
    EngagementFeatures,
    FeatureBuilder,
    FeatureInfo,
    MonetaryFeatures,
    PaymentFeatures,
    ProfileFeatures,
    SupportFeatures,
    TenureFeatures,
    build_features,
    default_builders,
    describe_features,
)
from .labels import label_churn, make_cutoffs, population, training_cutoffs

__all__ = [
    "BundleError",
    "ChurnDataError",
    "ChurnModelError",
    "DataQualityWarning",
    "EngagementFeatures",
    "EventData",
    "FeatureBuilder",
    "FeatureInfo",
    "LeakageWarning",
    "MonetaryFeatures",
    "PaymentFeatures",
    "ProfileFeatures",
    "SupportFeatures",
    "TenureFeatures",
    "__version__",
    "build_features",
    "default_builders",
    "describe_features",
    "label_churn",
    "load_config",
    "make_cutoffs",
    "population",
    "training_cutoffs",
]
