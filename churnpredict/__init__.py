"""churnpredict: predict which customers are about to churn, explain why, rank who to call.

The data flow, one module per step::

    EventData (data) -> labels -> features -> ChurnModel (model) -> explain -> export

``ChurnPipeline`` ties the steps together; ``metrics`` gives business churn figures.
"""

from ._version import __version__
from .campaign import campaign_readout, newcombe_interval, wilson_interval
from .data import EventData
from .datasets import (
    SAMPLE_AS_OF,
    load_sample,
    make_subscription_data,
    make_usage_data,
    sample_path,
)
from .drift import population_drift, reference_distribution
from .evaluate import (
    Evaluation,
    base_rate_check,
    classification_metrics,
    lift_table,
    optimal_list_size,
    profit_curve,
    recency_rule,
    time_ordered_evaluation,
)
from .exceptions import (
    BundleError,
    ChurnDataError,
    ChurnModelError,
    DataQualityWarning,
    LeakageWarning,
    ModelQualityWarning,
    ResourceLimitError,
    SeasonWarning,
)
from .explain import global_importance, shap_values, to_shap_explanation
from .export import DEFAULT_ACTIONS, ListOptions, at_risk_list, write_at_risk
from .features import (
    EngagementFeatures,
    FeatureBuilder,
    FeatureInfo,
    MonetaryFeatures,
    PaymentFeatures,
    ProfileFeatures,
    SupportFeatures,
    TenureFeatures,
    UsageFeatures,
    build_features,
    default_builders,
    describe_features,
)
from .inspection import Inspection, inspect
from .labels import label_churn, make_cutoffs, population, training_cutoffs
from .lists import read_list
from .metrics import churn_metrics, cohort_retention
from .model import ChurnModel, LogisticBaseline
from .pipeline import ChurnPipeline
from .reading import load_config
from .report import write_report

__all__ = [
    "DEFAULT_ACTIONS",
    "SAMPLE_AS_OF",
    "BundleError",
    "ListOptions",
    "ChurnDataError",
    "ChurnModel",
    "ChurnModelError",
    "ChurnPipeline",
    "DataQualityWarning",
    "EngagementFeatures",
    "Evaluation",
    "EventData",
    "FeatureBuilder",
    "FeatureInfo",
    "Inspection",
    "LeakageWarning",
    "SeasonWarning",
    "LogisticBaseline",
    "ModelQualityWarning",
    "MonetaryFeatures",
    "PaymentFeatures",
    "ProfileFeatures",
    "ResourceLimitError",
    "SupportFeatures",
    "TenureFeatures",
    "UsageFeatures",
    "__version__",
    "at_risk_list",
    "base_rate_check",
    "build_features",
    "campaign_readout",
    "churn_metrics",
    "classification_metrics",
    "cohort_retention",
    "default_builders",
    "describe_features",
    "global_importance",
    "inspect",
    "label_churn",
    "lift_table",
    "load_config",
    "load_sample",
    "make_cutoffs",
    "make_subscription_data",
    "make_usage_data",
    "newcombe_interval",
    "optimal_list_size",
    "population",
    "population_drift",
    "profit_curve",
    "read_list",
    "recency_rule",
    "reference_distribution",
    "sample_path",
    "shap_values",
    "time_ordered_evaluation",
    "to_shap_explanation",
    "training_cutoffs",
    "wilson_interval",
    "write_at_risk",
    "write_report",
]
