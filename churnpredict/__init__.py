"""churnpredict: predict which customers are about to churn, explain why, rank who to call.

The data flow::

    EventData -> label_churn -> features -> ChurnModel -> explain -> at_risk_list

``ChurnPipeline`` ties the steps together; ``churn_metrics`` gives business churn figures.
This package's ``__all__`` is the public API, with three public subpackages:
:mod:`churnpredict.features` (the feature families and what a custom builder needs),
:mod:`churnpredict.datasets` (sample data, generators and recipes for public data sets) and
:mod:`churnpredict.dask` (the same pipeline on partitions). Every other module is private
(``_name``): its contents may change without notice.
"""

from ._bgnbd import BGNBDBaseline
from ._campaign import (
    campaign_readout,
    newcombe_interval,
    readout_frame,
    wilson_interval,
    write_campaign,
)
from ._data import EventData
from ._drift import population_drift, reference_distribution
from ._evaluate import (
    Evaluation,
    base_rate_check,
    classification_metrics,
    lift_table,
    optimal_list_size,
    profit_curve,
    profit_curve_from_scores,
    recency_rule,
    time_ordered_evaluation,
)
from ._exceptions import (
    BundleError,
    ChurnDataError,
    ChurnModelError,
    ChurnParameterError,
    DataQualityWarning,
    LeakageWarning,
    ModelQualityWarning,
    ResourceLimitError,
    SeasonWarning,
)
from ._explain import explain, global_importance, shap_values, to_shap_explanation
from ._export import AT_RISK_COLUMNS, DEFAULT_ACTIONS, ListOptions, at_risk_list, write_at_risk
from ._inspection import Inspection, inspect
from ._labels import label_churn, make_cutoffs, population, training_cutoffs
from ._lists import read_list
from ._metrics import churn_metrics, cohort_retention
from ._model import ChurnModel, LogisticBaseline
from ._pipeline import ChurnPipeline, business_kind
from ._plots import (
    plot_calibration,
    plot_churn_rate,
    plot_cohort_retention,
    plot_driver_mix,
    plot_gains,
    plot_lift,
    plot_precision_recall_at_k,
    plot_profit_curve,
    plot_revenue_churn,
    plot_score_distribution,
    plot_shap_importance,
    plot_waterfall,
)
from ._reading import load_config
from ._report import write_report
from ._version import __version__
from .datasets import (
    SAMPLE_AS_OF,
    load_sample,
    make_subscription_data,
    make_usage_data,
    sample_path,
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
    UsageFeatures,
    build_features,
    default_builders,
    describe_features,
)

__all__ = [
    "AT_RISK_COLUMNS",
    "at_risk_list",
    "base_rate_check",
    "BGNBDBaseline",
    "build_features",
    "BundleError",
    "business_kind",
    "campaign_readout",
    "churn_metrics",
    "ChurnDataError",
    "ChurnModel",
    "ChurnModelError",
    "ChurnParameterError",
    "ChurnPipeline",
    "classification_metrics",
    "cohort_retention",
    "DataQualityWarning",
    "DEFAULT_ACTIONS",
    "default_builders",
    "describe_features",
    "EngagementFeatures",
    "Evaluation",
    "EventData",
    "explain",
    "FeatureBuilder",
    "FeatureInfo",
    "global_importance",
    "inspect",
    "Inspection",
    "label_churn",
    "LeakageWarning",
    "lift_table",
    "ListOptions",
    "load_config",
    "load_sample",
    "LogisticBaseline",
    "make_cutoffs",
    "make_subscription_data",
    "make_usage_data",
    "ModelQualityWarning",
    "MonetaryFeatures",
    "newcombe_interval",
    "optimal_list_size",
    "PaymentFeatures",
    "plot_calibration",
    "plot_churn_rate",
    "plot_cohort_retention",
    "plot_driver_mix",
    "plot_gains",
    "plot_lift",
    "plot_precision_recall_at_k",
    "plot_profit_curve",
    "plot_revenue_churn",
    "plot_score_distribution",
    "plot_shap_importance",
    "plot_waterfall",
    "population",
    "population_drift",
    "ProfileFeatures",
    "profit_curve",
    "profit_curve_from_scores",
    "read_list",
    "readout_frame",
    "recency_rule",
    "reference_distribution",
    "ResourceLimitError",
    "SAMPLE_AS_OF",
    "sample_path",
    "SeasonWarning",
    "shap_values",
    "SupportFeatures",
    "TenureFeatures",
    "time_ordered_evaluation",
    "to_shap_explanation",
    "training_cutoffs",
    "UsageFeatures",
    "wilson_interval",
    "write_at_risk",
    "write_campaign",
    "write_report",
    "__version__",
]


#: Public subpackages ``dir(churnpredict)`` shows besides ``__all__`` (``dask`` when installed).
_SUBPACKAGES = ("datasets", "features", "dask")


def __dir__() -> list[str]:
    """The public API: ``__all__`` and the public subpackages, not the private modules."""
    return sorted({*__all__, *_SUBPACKAGES})


def __getattr__(name: str) -> object:
    """``churnpredict.dask`` on first use (importing the package does not import Dask)."""
    if name == "dask":
        import importlib

        return importlib.import_module("churnpredict.dask")
    raise AttributeError(f"module 'churnpredict' has no attribute {name!r}")
