"""The public surface is pinned: adding or removing a name is a deliberate change."""

import pytest

import churnpredict as cp

PUBLIC = {
    "DEFAULT_ACTIONS",
    "SAMPLE_AS_OF",
    "BundleError",
    "ChurnDataError",
    "ChurnModel",
    "ChurnModelError",
    "ChurnPipeline",
    "DataQualityWarning",
    "SeasonWarning",
    "EngagementFeatures",
    "Evaluation",
    "EventData",
    "FeatureBuilder",
    "FeatureInfo",
    "LeakageWarning",
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
    "build_features",
    "churn_metrics",
    "classification_metrics",
    "cohort_retention",
    "default_builders",
    "describe_features",
    "global_importance",
    "label_churn",
    "lift_table",
    "load_config",
    "load_sample",
    "make_cutoffs",
    "make_subscription_data",
    "make_usage_data",
    "optimal_list_size",
    "population",
    "profit_curve",
    "recency_rule",
    "sample_path",
    "shap_values",
    "time_ordered_evaluation",
    "to_shap_explanation",
    "training_cutoffs",
    "write_at_risk",
    "write_report",
    # the retention loop: holdout readouts, drift, base-rate check
    "base_rate_check",
    "campaign_readout",
    "newcombe_interval",
    "population_drift",
    "read_list",
    "reference_distribution",
    "wilson_interval",
    # list options as one checked object
    "ListOptions",
    # a folder of exported files -> the config
    "Inspection",
    "inspect",
    # what notebooks use: plots, explanations, campaign files, profit views, the baseline
    "AT_RISK_COLUMNS",
    "BGNBDBaseline",
    "ChurnParameterError",
    "business_kind",
    "explain",
    "profit_curve_from_scores",
    "readout_frame",
    "write_campaign",
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
}


def test_public_names_are_pinned():
    assert set(cp.__all__) == PUBLIC
    for name in cp.__all__:
        assert getattr(cp, name) is not None


@pytest.mark.slow
def test_import_is_light():
    """Importing the library neither starts matplotlib's pyplot nor imports dask."""
    import subprocess
    import sys

    code = (
        "import sys, churnpredict; "
        "print(sorted(m for m in ('matplotlib.pyplot', 'dask', 'distributed') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
