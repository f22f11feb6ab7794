"""Every command in README.md works: the Python example, the batch commands, the config."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnpredict import cli
from churnpredict.datasets import sample_path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_first_screen_commands_match_ci():
    """The two fresh-machine commands come first, and CI runs exactly the test command."""
    install_demo, install_test = blocks("bash")[:2]
    assert install_demo.strip().endswith("pip install . && churnpredict demo")
    assert install_test.strip().endswith('pip install ".[test]" && python -m pytest')
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'python -m pip install --quiet ".[test]"' in ci
    assert "\npython -m pytest\n" in ci


def test_the_notebook_lines_need_only_the_plain_install():
    """The notebook example writes at_risk.xlsx after `pip install .`: what writes .xlsx is a
    core dependency, not an extra (issue 17: it failed on the README's own install)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    code = blocks("python")[0]
    assert '"at_risk.xlsx"' in code and "pip install ." in blocks("bash")[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {re.split(r"[<>=!~; \[]", d)[0].lower() for d in project["dependencies"]}
    assert "openpyxl" in core
    assert "excel" not in project["optional-dependencies"]


@pytest.mark.slow
def test_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = blocks("python")[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    at_risk = namespace["at_risk"]
    assert len(at_risk) == 200 and at_risk["rank"].tolist() == list(range(1, 201))
    assert (tmp_path / "at_risk.xlsx").stat().st_size > 0


@pytest.mark.slow
def test_batch_commands_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    commands = [line for line in blocks("bash")[2].splitlines() if line.startswith("churnpredict")]
    assert [c.split()[1] for c in commands] == ["train", "score", "evaluate", "metrics"]
    for command in commands:
        args = [str(sample_path()) if a == "data/sample" else a for a in shlex.split(command)[1:]]
        result = runner.invoke(cli.app, args)
        assert result.exit_code == 0, (command, result.output)
    frame = pd.read_csv(tmp_path / "at_risk.csv")
    assert len(frame) == 500 and frame.columns[0] == "rank"
    assert (tmp_path / "report" / "report.html").is_file()


def test_config_example_is_valid(tmp_path):
    config = tmp_path / "churn.toml"
    config.write_text(blocks("toml")[0], encoding="utf-8")
    settings = cli.load_settings(config)
    assert settings["columns"]["activity"] == {"user_id": "customer_id", "event_time": "timestamp"}
    assert settings["score"]["rank_by"] == "revenue"
    assert settings["currency"] == "€"
    from churnpredict.cli.settings import list_options

    options = list_options(settings, config=config)
    assert options.actions["lapsed"]["engagement"] == "Win-back voucher, 15% off"
    assert options.actions["payments"] == "Call about the card today"


@pytest.mark.slow
def test_demo_command_on_the_bundled_sample(tmp_path):
    """`churnpredict demo` as a new user runs it (a real process, the real sample)."""
    out = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from churnpredict.cli import main; main()",
            "demo",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out / "at_risk.csv")
    assert frame["churn_probability"].round(3).is_monotonic_decreasing  # ties by revenue
    assert (out / "report" / "report.html").is_file()
    assert "revenue at risk" in result.stdout.lower()


def test_your_own_data_is_three_commands_on_one_config():
    """README's "Your own data": inspect writes the config that train and score then take."""
    section = README.split("## Your own data", 1)[1]
    block = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0]
    commands = [shlex.split(line) for line in block.strip().splitlines()]
    assert [c[1] for c in commands] == ["inspect", "train", "score"]
    config = commands[0][commands[0].index("--write-config") + 1]
    assert all(c[c.index("--config") + 1] == config for c in commands[1:])
    assert len({c[2] for c in commands}) == 1  # one folder of exports
    runner = CliRunner()
    for command in commands:  # every option is one the command takes
        options = [a for a in command[3:] if a.startswith("--")]
        result = runner.invoke(cli.app, [command[1], "--help"])
        assert all(o in result.stdout for o in options), (command, result.stdout)
