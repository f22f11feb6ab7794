"""The HTML report: PNG plots on disk, one self-contained page that embeds them.

One small simulated subscription business (300 customers, see ``make_subscription_data``) and one
small model (50 trees) trained on what was known on 2024-12-02; the report lists the customers
active at the end of the data and checks the model on 2024-12-02, whose outcomes are known.
"""

import base64
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from churnpredict._alike import alike_groups
from churnpredict._evaluate import profit_curve
from churnpredict._exceptions import ChurnDataError
from churnpredict._export import GROUP_MEANINGS, at_risk_list
from churnpredict._folders import mark_output_folder
from churnpredict._model import ChurnModel
from churnpredict._pipeline import ChurnPipeline
from churnpredict._report import REPORT_PLOTS, evaluate_at, write_report
from churnpredict.datasets import make_subscription_data

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHECK_AT = "2024-12-02"
LIST_AT = "2024-12-31"
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "area", "base", "wbr"}


@pytest.fixture(scope="module")
def data():
    return make_subscription_data(n_customers=300, events_per_day=0.3, random_state=7)


@pytest.fixture(scope="module")
def pipeline(data):
    pipe = ChurnPipeline(model=ChurnModel(n_estimators=50, n_jobs=1), n_cutoffs=6)
    return pipe.fit(data, as_of=CHECK_AT)


@pytest.fixture(scope="module")
def evaluation(pipeline, data):
    return evaluate_at(pipeline, data, CHECK_AT)


@pytest.fixture(scope="module")
def scores(pipeline, data):
    return pipeline.score(data, LIST_AT, explain=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory, pipeline, data, evaluation, scores):
    out = tmp_path_factory.mktemp("report")
    page = write_report(
        pipeline,
        data,
        LIST_AT,
        out,
        scores=scores,
        evaluation=evaluation,
        contact_cost=0.5,
        save_rate=0.3,
        actions={"payments": "Call about card"},
    )
    return page


class _Checker(HTMLParser):
    """Collects images and links, and checks that every element is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.images, self.links = [], [], [], []
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "a":
            self.links.append(attrs.get("href"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(page):
    checker = _Checker()
    checker.feed(page.read_text(encoding="utf-8"))
    checker.close()
    return checker


def test_every_plot_is_a_png(report):
    for stem in REPORT_PLOTS:
        payload = (report.parent / f"{stem}.png").read_bytes()
        assert payload[:8] == PNG_MAGIC, stem
        assert len(payload) > 1024, stem
        from PIL import Image

        with Image.open(report.parent / f"{stem}.png") as image:
            image.verify()
            assert image.size[0] > 300 and image.size[1] > 200


def test_page_is_well_formed_and_self_contained(report):
    checker = parse(report)
    assert checker.errors == []
    assert checker.stack == []
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # no external assets: no scripts, stylesheets or remote sources
    assert not {"script", "link", "iframe"} & checker.tags
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)


def test_page_embeds_the_png_files(report):
    checker = parse(report)
    embedded = {}
    for img in checker.images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        embedded[img["alt"]] = base64.b64decode(img["src"][len(prefix) :])
    assert len(embedded) == len(REPORT_PLOTS)
    for stem, caption in REPORT_PLOTS.items():
        assert embedded[caption] == (report.parent / f"{stem}.png").read_bytes()
        assert f"{stem}.png" in checker.links


def test_headline_metrics(report, evaluation):
    text = report.read_text(encoding="utf-8")
    m = evaluation.metrics
    assert f"{m['auc']:.3f}" in text
    assert f"{m['average_precision']:.3f}" in text
    assert f"{m['top_decile_lift']:.1f}x" in text
    assert f"{m['brier']:.3f}" in text
    assert f"{m['n_churned']:,} of {m['n']:,} customers churned" in text


def test_top_20_lines_with_reasons_and_actions(report, scores):
    """Twenty lines; customers who read alike share one, ranks run on without a gap, and
    the lines follow the list (ties by revenue at risk)."""
    text = report.read_text(encoding="utf-8")
    section = text[text.index("<section id=list>") : text.index("<section id=profit>")]
    ranks = re.findall(r"<tr><td class=n>(\d+)(?:&ndash;(\d+))?</td>", section)
    at_risk = at_risk_list(scores, actions={"payments": "Call about card"})
    groups = alike_groups(at_risk, 20)
    assert len(ranks) == len(groups) == 20
    assert [int(a) for a, _ in ranks] == groups["first_rank"].tolist()
    assert [int(b or a) for a, b in ranks] == groups["last_rank"].tolist()
    assert groups["first_rank"].iloc[1:].tolist() == (groups["last_rank"] + 1).iloc[:-1].tolist()
    assert f"{at_risk['churn_probability'].iloc[0]:.1%}" in section
    assert section.count("<li>") >= 20
    covered = at_risk.head(int(groups["last_rank"].iloc[-1]))
    if (covered["reason_group_1"] == "payments").any():
        assert "Call about card" in section
    assert "Risk tiers: <b>high</b>: churn probability" in section
    assert "revenue at risk (amount)" in section  # no currency set


def test_driver_groups_explained_with_actions(report):
    text = report.read_text(encoding="utf-8")
    section = text[text.index("<section id=drivers>") :]
    for group, meaning in GROUP_MEANINGS.items():
        assert f">{group}</span>" in section
        assert meaning in section
    assert "Call about card" in section


def test_profit_optimal_list_size(report, scores, pipeline):
    months = pipeline.horizon_ / pd.Timedelta(days=365.25 / 12)
    curve = profit_curve(scores["churn_probability"], scores["mrr"], months, 0.5, 0.3)
    best = curve.attrs["optimal_list_size"]
    assert 0 < best < len(scores)
    text = report.read_text(encoding="utf-8")
    assert f"contact the top <b>{best:,}</b> of {len(scores):,} customers" in text
    assert f"{curve.loc[best, 'expected_profit']:,.0f}" in text


@pytest.mark.slow
def test_no_contact_pays_when_contacts_are_dear(tmp_path, pipeline, data, scores, evaluation):
    page = write_report(
        pipeline, data, LIST_AT, tmp_path, scores=scores, evaluation=evaluation, contact_cost=1e6
    )
    assert "no contact pays for itself" in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_without_known_outcomes_there_is_no_accuracy_section(tmp_path, pipeline, data, scores):
    mark_output_folder(tmp_path, "report")  # a folder an earlier report filled
    (tmp_path / "gains.png").write_bytes(b"from an earlier report")
    page = write_report(pipeline, data, LIST_AT, tmp_path, scores=scores)
    text = page.read_text(encoding="utf-8")
    assert "<section id=accuracy>" not in text
    assert "outcomes after this date are not known yet" in text
    assert not (tmp_path / "gains.png").exists()
    assert (tmp_path / "score_distribution.png").read_bytes()[:8] == PNG_MAGIC
    assert parse(page).errors == []


@pytest.mark.slow
def test_evaluates_by_itself_when_outcomes_are_known(tmp_path, pipeline, data, evaluation):
    page = write_report(pipeline, data, CHECK_AT, tmp_path)
    text = page.read_text(encoding="utf-8")
    assert "<section id=accuracy>" in text
    assert f"{evaluation.metrics['auc']:.3f}" in text


def test_evaluate_at_needs_the_horizon_after_as_of(pipeline, data):
    with pytest.raises(
        ChurnDataError,
        match=r"needs the 28-day horizon after it.*on or before "
        r"2024-12-02",
    ):
        evaluate_at(pipeline, data, "2024-12-20")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"save_rate": 1.5}, ValueError, "save_rate=1.5"),
        ({"top": 0}, ValueError, "top=0"),
        ({"contact_cost": -1}, ValueError, "contact_cost=-1"),
    ],
)
def test_bad_assumptions(tmp_path, pipeline, data, scores, kwargs, error, match):
    with pytest.raises(error, match=match):
        write_report(pipeline, data, LIST_AT, tmp_path / "r", scores=scores, **kwargs)
    assert not (tmp_path / "r").exists()


def test_out_dir_that_is_a_file(tmp_path, pipeline, data, scores):
    target = tmp_path / "report"
    target.write_text("not a folder")
    with pytest.raises(ChurnDataError, match="is a file"):
        write_report(pipeline, data, LIST_AT, target, scores=scores)
    assert target.read_text() == "not a folder"


def _browser():
    import shutil

    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_browser() is None, reason="no headless chromium on this machine")
def test_page_renders_in_a_headless_browser(tmp_path, report):
    """The page opens offline in a real browser, and its embedded plots are drawn.

    The same page with its images removed is the control: the plots add thousands of colours.
    """
    import subprocess

    from PIL import Image

    bare = tmp_path / "bare.html"
    bare.write_text(
        re.sub(r"<img [^>]*>", "", report.read_text(encoding="utf-8")), encoding="utf-8"
    )

    def colours(page):
        shot = tmp_path / f"{page.stem}.png"
        subprocess.run(
            [
                _browser(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--screenshot={shot}",
                "--window-size=1200,1600",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with Image.open(shot) as image:
            assert image.size == (1200, 1600)
            return len(image.convert("RGB").getcolors(maxcolors=1 << 22))

    assert colours(report) > 1.5 * colours(bare)


def test_list_options_rank_the_reports_list(tmp_path, pipeline, data, scores, evaluation):
    from churnpredict._export import ListOptions

    options = ListOptions(rank_by="revenue", tiers={"high": 0.3})
    page = write_report(
        pipeline,
        data,
        LIST_AT,
        tmp_path,
        scores=scores,
        evaluation=evaluation,
        options=options,
        top=5,
    )
    text = page.read_text(encoding="utf-8")
    section = text[text.index("<section id=list>") : text.index("<section id=profit>")]
    ranks = re.findall(r"<tr><td class=n>(\d+)(?:&ndash;\d+)?</td>", section)
    expected = alike_groups(at_risk_list(scores, options=options), 5)
    assert [int(r) for r in ranks] == expected["first_rank"].tolist()
    first = expected["customer_ids"].iloc[0][0]
    assert f"<td>{first}" in section or f": {first}" in section
    assert first != scores.index[0]  # ranked by revenue, not by probability
    with pytest.raises(ValueError, match="not both"):
        write_report(
            pipeline,
            data,
            LIST_AT,
            tmp_path,
            scores=scores,
            evaluation=evaluation,
            options=options,
            tiers={"high": 0.5},
        )
