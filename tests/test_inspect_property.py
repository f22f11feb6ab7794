"""Whatever the exports call their columns and files, every mapping inspect makes is right or
absent (hypothesis).

Each example writes a random business as files with shuffled, meaningless names: a
subscription (customers, activity, payments with or without a status column, tickets), a
shop's invoices, an app's event log, or a snapshot table with a label. Every column is renamed
with a name drawn from usual spellings in several languages and from names that mean nothing
(``Kd``, ``zp``, ``x1``...), next to distractor columns that are no canonical column (session
ids, row numbers, a country, free notes, a second date). A table is only knowable from what
its columns say, so a ticket table keeps one recognisable ticket column and payments without
a status a recognisable amount; everything else may be unrecognisable. The truth is known:
every file placed, column mapped, label, outcome column, status mapping and declared setting
must match it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import churnpredict as cp

NAMES = {
    "customer_id": [
        "customer_id",
        "CustomerID",
        "user_id",
        "userId",
        "client",
        "Kundennummer",
        "account_no",
        "id_cliente",
        "Kd",
        "who",
        "ref",
    ],
    "timestamp": [
        "timestamp",
        "ts",
        "event_time",
        "event_ts",
        "InvoiceDate",
        "datum",
        "fecha",
        "when",
        "zp",
        "moment",
    ],
    "event": ["event", "event_type", "page", "action", "Ereignis", "what"],
    "value": ["amount", "amt", "TotalPrice", "Betrag", "importe", "money", "x1"],
    "amount": ["amount", "amt", "TotalPrice", "Betrag", "importe", "money", "x1"],
    "status": ["status", "payment_status", "state", "Zahlungsstatus", "result", "s"],
    "signup_at": ["signup_at", "registered", "created_at", "Anmeldedatum", "fecha_alta", "t0"],
    "churned_at": [
        "churned_at",
        "cancelled_at",
        "Kuendigungsdatum",
        "fecha_baja",
        "end_date",
        "gone",
    ],
    "plan": ["plan", "tier", "Tarif", "package", "p"],
    "created_at": ["created_at", "erstellt_am", "opened", "ticket_opened", "t"],
    "resolved_at": ["resolved_at", "closed_at", "solved", "erledigt_am", "fin"],
    "priority": ["priority", "severity", "Prioritaet", "urg"],
    "csat": ["csat", "rating", "satisfaction", "note"],
    "label": ["churn", "Churn", "Exited", "attrition_flag", "left", "y"],
    "outcome": ["churn_reason", "cancel_reason", "why", "grund"],
}
#: names a ticket table or statusless payments keep recognisable (see the module docstring)
KNOWN = {
    "ticket": {
        "resolved_at": ["resolved_at", "closed_at", "erledigt_am"],
        "priority": ["priority", "severity", "Prioritaet"],
        "csat": ["csat", "rating"],
    },
    "amount": ["amount", "amt", "TotalPrice", "Betrag", "importe"],
}
DISTRACTORS = [
    "session_id",
    "row_nr",
    "country",
    "notes",
    "channel",
    "received_at",
    "score",
    "device",
]
#: in event rows only: an HTTP status and a signup time repeated on every event (as in app logs)
EVENT_DISTRACTORS = DISTRACTORS + ["status", "registration"]
FILE_NAMES = [
    "export_1.csv",
    "export_2.csv.gz",
    "dump.jsonl",
    "data.parquet",
    "file_a.tsv",
    "extract.csv",
]
STATUS_WORDS = {
    "canonical": {"succeeded": "succeeded", "failed": "failed"},
    "english": {"paid": "succeeded", "declined": "failed"},
    "german": {"bezahlt": "succeeded", "abgelehnt": "failed"},
}


def distractor(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if name == "session_id":
        return rng.integers(1, max(2, n // 3), n)
    if name == "row_nr":
        return np.arange(1, n + 1)
    if name == "country":
        return rng.choice(["UK", "FR", "DE"], n)
    if name == "notes":
        return np.array([f"note {i} about the row" for i in rng.integers(0, 10**6, n)])
    if name == "channel":
        return rng.choice(["web", "app"], n)
    if name == "received_at":
        return (
            pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
        ).strftime("%Y-%m-%d")
    if name == "score":
        return rng.normal(size=n)
    if name == "status":
        return rng.choice([200, 307, 404], n)
    if name == "registration":
        return rng.integers(1_600_000_000_000, 1_650_000_000_000, n).astype(float)
    return rng.choice(["ios", "android", "web"], n)


class Export:
    """Files written into a folder, with the truth of every file and column."""

    def __init__(self, draw, folder, rng):
        self.draw, self.folder, self.rng = draw, folder, rng
        self.files = list(draw(st.permutations(FILE_NAMES)))
        self.table: dict[str, str] = {}  # file -> canonical table
        self.column: dict[tuple[str, str], str | None] = {}  # (file, column) -> canonical
        self.truth: dict[str, object] = {}

    def __repr__(self) -> str:  # what a failing example shows
        return f"Export(tables={self.table}, columns={self.column}, truth={self.truth})"

    def name(self, canonical: str, taken: set[str], pool=None) -> str:
        options = [n for n in (pool or NAMES[canonical]) if n not in taken]
        chosen = self.draw(st.sampled_from(options))
        taken.add(chosen)
        return chosen

    def write(self, table: str, columns: dict[str, tuple[object, str | None]]) -> str:
        """Write one file: ``{name: (values, canonical or None)}``, plus distractors."""
        file = self.files.pop()
        n = len(next(iter(columns.values()))[0])
        frame = {name: values for name, (values, _) in columns.items()}
        pool = DISTRACTORS if table == "customers" else EVENT_DISTRACTORS
        extra = self.draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
        for name in extra:
            if name not in frame:
                frame[name] = distractor(name, n, self.rng)
                columns[name] = (frame[name], None)
        frame = pd.DataFrame(frame)
        path = self.folder / file
        if file.endswith(".jsonl"):
            frame.to_json(path, orient="records", lines=True)
        elif file.endswith(".parquet"):
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False, sep="\t" if file.endswith(".tsv") else ",")
        self.table[file] = table
        for name, (_, canonical) in columns.items():
            self.column[(file, name)] = canonical
        return file


def times(rng, n, start="2023-01-01", days=400):
    return pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.integers(0, days * 24, n)), "h")


def event_rows(rng, ids, per=(2, 8)):
    counts = rng.integers(per[0], per[1], len(ids))
    return np.repeat(ids, counts)


def write_customers(ex: Export, ids, *, churn: bool) -> None:
    rng, taken, n = ex.rng, set(), len(ids)
    columns = {ex.name("customer_id", taken): (ids, "customer_id")}
    signup = times(rng, n, "2022-06-01", 150)
    columns[ex.name("signup_at", taken)] = (signup.strftime("%Y-%m-%d"), "signup_at")
    if churn:
        left = rng.random(n) < 0.3
        end = pd.Series(signup + pd.Timedelta(days=200)).dt.strftime("%Y-%m-%d")
        columns[ex.name("churned_at", taken)] = (end.where(left, None).to_numpy(), "churned_at")
    if ex.draw(st.booleans()):
        columns[ex.name("plan", taken)] = (rng.choice(["basic", "pro"], n), "plan")
    ex.write("customers", columns)


def write_activity(ex: Export, ids, *, epoch: bool) -> None:
    rng, taken = ex.rng, set()
    who = event_rows(rng, ids)
    when = times(rng, len(who))
    columns = {ex.name("customer_id", taken): (who, "customer_id")}
    time_name = ex.name("timestamp", taken)
    if epoch and time_name in ("ts", "timestamp", "event_ts", "event_time"):
        millis = (when - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)
        columns[time_name] = (np.asarray(millis, dtype=np.int64), "timestamp")
        ex.truth["time_unit"] = "ms"
    else:
        columns[time_name] = (when.strftime("%Y-%m-%d %H:%M:%S"), "timestamp")
    if ex.draw(st.booleans()):
        columns[ex.name("event", taken)] = (
            rng.choice(["login", "view", "export"], len(who)),
            "event",
        )
    ex.write("activity", columns)


def write_payments(ex: Export, ids, *, status: bool) -> None:
    rng, taken = ex.rng, set()
    months = pd.date_range("2023-01-05", periods=6, freq="MS")
    who = np.repeat(ids, len(months))
    when = np.tile(months.strftime("%Y-%m-%d"), len(ids))
    columns = {
        ex.name("customer_id", taken): (who, "customer_id"),
        ex.name("timestamp", taken): (when, "timestamp"),
    }
    if status:
        columns[ex.name("amount", taken)] = (np.full(len(who), 29.0), "amount")
        words = STATUS_WORDS[ex.draw(st.sampled_from(sorted(STATUS_WORDS)))]
        values = rng.choice(list(words), len(who), p=[0.85, 0.15])
        values[0], values[1] = list(words)  # both statuses occur
        columns[ex.name("status", taken)] = (values, "status")
        ex.truth["statuses"] = words
    else:
        columns[ex.name("amount", taken, KNOWN["amount"])] = (np.full(len(who), 29.0), "amount")
        ex.truth["default_status"] = "succeeded"
    ex.write("payments", columns)


def write_tickets(ex: Export, ids) -> None:
    rng, taken = ex.rng, set()
    who = rng.choice(ids, 2 * len(ids))
    opened = times(rng, len(who))
    columns = {
        ex.name("customer_id", taken): (who, "customer_id"),
        ex.name("created_at", taken): (opened.strftime("%Y-%m-%d"), "created_at"),
    }
    known = ex.draw(st.sampled_from(sorted(KNOWN["ticket"])))
    for target in ("resolved_at", "priority", "csat"):
        pool = KNOWN["ticket"][target] if target == known else None
        if target == known or ex.draw(st.booleans()):
            values = {
                "resolved_at": (opened + pd.Timedelta(days=2)).strftime("%Y-%m-%d"),
                "priority": rng.choice(["low", "high"], len(who)),
                "csat": rng.integers(1, 6, len(who)),
            }[target]
            columns[ex.name(target, taken, pool)] = (values, target)
    ex.write("tickets", columns)


def write_invoices(ex: Export, ids) -> None:
    rng, taken = ex.rng, set()
    who = event_rows(rng, ids, (1, 6))
    columns = {
        "InvoiceNo": (np.arange(500000, 500000 + len(who)), None),
        ex.name("customer_id", taken): (who, "customer_id"),
        ex.name("timestamp", taken): (times(rng, len(who)).strftime("%Y-%m-%d"), "timestamp"),
        ex.name("value", taken): (rng.gamma(2, 20, len(who)).round(2), "value"),
    }
    ex.write("activity", columns)
    ex.truth["business"] = "purchases"


def write_snapshot(ex: Export, ids) -> None:
    rng, taken, n = ex.rng, set(), len(ids)
    left = rng.random(n) < 0.3
    columns = {ex.name("customer_id", taken): (ids, "customer_id")}
    yes, no = ex.draw(st.sampled_from([("Yes", "No"), (1, 0), (True, False)]))
    label = ex.name("label", taken)
    columns[label] = (np.where(left, yes, no), "label")
    columns[ex.name("plan", taken)] = (rng.choice(["basic", "pro"], n), "plan")
    columns["usage"] = (rng.integers(0, 100, n), None)
    if ex.draw(st.booleans()):
        columns[ex.name("outcome", taken)] = (np.where(left, "price", None), "outcome")
    ex.write("customers", columns)


@st.composite
def exports(draw, folder):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    ex = Export(draw, folder, rng)
    kind = draw(st.sampled_from(["subscription", "shop", "app", "snapshot"]))
    n = draw(st.integers(30, 60))
    ids = [f"c{i:03d}" for i in range(n)] if draw(st.booleans()) else list(range(1000, 1000 + n))
    ids = np.array(ids, dtype=object)
    if kind == "subscription":
        with_customers = draw(st.booleans())
        if with_customers:
            write_customers(ex, ids, churn=draw(st.booleans()))
        write_activity(ex, ids, epoch=draw(st.booleans()))
        if draw(st.booleans()):
            write_payments(ex, ids, status=draw(st.booleans()))
        if draw(st.booleans()):
            write_tickets(ex, ids)
        ex.truth["derived"] = not with_customers
    elif kind == "shop":
        write_invoices(ex, ids)
        ex.truth["derived"] = True
    elif kind == "app":
        write_activity(ex, ids, epoch=draw(st.booleans()))
        ex.truth["derived"] = True
    else:
        write_snapshot(ex, ids)
        ex.truth["derived"] = False
    return ex


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_mapping_made_is_right_or_absent(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("export")
    ex = data.draw(exports(folder))
    found = cp.inspect(folder)
    config = found.config
    for table, file in found.tables.items():
        assert ex.table[file] == table, (file, table)
    for table, mapping in config.get("columns", {}).items():
        file = found.tables[table]
        for source, target in mapping.items():
            assert ex.column[(file, source)] == target, (file, source, target)
    if "label_column" in config:
        file = found.tables["customers"]
        assert ex.column[(file, config["label_column"])] == "label"
    for column in config.get("outcome_columns", []):
        assert ex.column[(found.tables["customers"], column)] == "outcome", column
    statuses = ex.truth.get("statuses", {})
    for value, status in config.get("status_map", {}).items():
        assert statuses[value] == status
    if "payments" in config:
        assert config["payments"] == {"default_status": ex.truth.get("default_status")}
    if config.get("derive_customers"):
        assert ex.truth["derived"]
    if "time_unit" in config:
        assert config["time_unit"] == ex.truth.get("time_unit")
    if "business" in config:
        assert config["business"] == ex.truth.get("business")
