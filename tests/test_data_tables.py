"""churnpredict._tables and churnpredict._dates: the input-table rules and reading times."""

from __future__ import annotations

import pandas as pd
import pytest

from churnpredict import ChurnDataError
from churnpredict import _dates as dates
from churnpredict import _tables as tables


def test_format_examples_shows_distinct_values_and_how_many_more():
    assert tables.format_examples([3, 1, 3, 2, 5], k=2) == "{3, 1 and 2 more}"
    assert tables.format_examples(pd.Series(["a"])) == "{'a'}"


def test_normalise_timestamps_settles_the_date_order_from_the_data():
    """One value with a first field over 12 proves the column day-first."""
    out = dates.normalise_timestamps(
        "activity", "timestamp", pd.Series(["05/04/2024", "25/12/2023 08:30"])
    )
    assert out.tolist() == [pd.Timestamp("2024-04-05"), pd.Timestamp("2023-12-25 08:30")]
    assert out.dtype == "datetime64[ns]"


def test_normalise_timestamps_asks_the_hint_only_when_the_column_cannot_tell():
    asked = []

    def hint():
        asked.append(True)
        return False  # the other columns prove month-first

    out = dates.normalise_timestamps("tickets", "resolved_at", pd.Series(["05/04/2024"]), hint=hint)
    assert out.tolist() == [pd.Timestamp("2024-05-04")] and asked == [True]
    with pytest.raises(
        ChurnDataError,
        match=r"tickets\.resolved_at has dates such as "
        r"\{'05/04/2024'\}.*pass dayfirst=True",
    ):
        dates.normalise_timestamps("tickets", "resolved_at", pd.Series(["05/04/2024"]))


def test_normalise_timestamps_converts_offsets_to_naive_utc():
    out = dates.normalise_timestamps(
        "payments", "timestamp", pd.Series(["2024-03-01T10:00:00+02:00"])
    )
    assert out.tolist() == [pd.Timestamp("2024-03-01 08:00")]


@pytest.mark.parametrize(
    "values, kind",
    [
        ([1, 2], "integer"),
        ([1.0, 2.5], "float"),
        (["1", "2"], "text"),
        ([1, "2"], "mixed"),
        ([1, 2.5], "mixed-number"),
        ([{"a": 1}, 2], "object"),
        ([None, None], None),
    ],
)
def test_id_kind(values, kind):
    assert tables.id_kind(pd.Series(values, dtype=object if kind != "number" else None)) == kind


def test_check_customer_ids_names_duplicates_and_missing_ids():
    with pytest.raises(ChurnDataError, match=r"1 duplicated ids \{'b'\}"):
        tables.check_customer_ids(pd.Series(["a", "b", "b"]))
    with pytest.raises(ChurnDataError, match="1 missing values; every customer needs an id"):
        tables.check_customer_ids(pd.Series(["a", None]))


@pytest.mark.parametrize(
    "values, message",
    [
        (["1", "x"], r"payments\.amount has 1 non-numeric values \{'x'\}"),
        ([1.0, float("inf")], r"payments\.amount has 1 infinite values"),
        ([1.0, -2.0], r"payments\.amount has 1 negative values \{-2\.0\}"),
        ([1.0, None], r"payments\.amount has 1 missing values"),
    ],
)
def test_numeric_column_refuses_what_is_not_a_finite_amount(values, message):
    with pytest.raises(ChurnDataError, match=message):
        tables.numeric_column("payments", "amount", pd.Series(values, dtype=object), False)


def test_rename_and_required_columns_name_the_table_and_the_fix():
    frame = pd.DataFrame({"user": [1], "when": ["2024-01-01"]})
    renamed = tables.rename_columns("activity", frame, {"user": "customer_id"})
    assert list(renamed.columns) == ["customer_id", "when"]
    with pytest.raises(
        ChurnDataError,
        match=r"activity is missing required column\(s\) "
        r"\['timestamp'\].*columns=\{'activity'",
    ):
        tables.check_required("activity", renamed, tables.SCHEMA["activity"].required)
    with pytest.raises(ChurnDataError, match=r"activity: columns= maps \['uid'\]"):
        tables.rename_columns("activity", frame, {"uid": "customer_id"})
