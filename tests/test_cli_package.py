"""The command line as a package: its layout, its entry points and the list options it builds."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from churnpredict import cli
from churnpredict._exceptions import ChurnDataError
from churnpredict._export import ListOptions
from churnpredict.cli.session import BadInput
from churnpredict.cli.settings import list_options

PACKAGE = Path(cli.__file__).parent
MODULES = {
    ".".join(p.relative_to(PACKAGE.parents[1]).with_suffix("").parts)
    for p in PACKAGE.parent.rglob("*.py")
}


def _imports(path):
    """(module, names) of every ``from ... import`` in a file, relative ones resolved."""
    package = ["churnpredict", *path.parent.relative_to(PACKAGE.parent).parts]
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) + 1 - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, [a.name for a in node.names]


def test_modules_are_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert {
        "__init__.py",
        "session.py",
        "inputs.py",
        "settings.py",
        "tables.py",
        "root.py",
        "train.py",
        "score.py",
        "evaluate.py",
        "metrics.py",
        "loop.py",
        "demo.py",
    } <= set(sizes)
    assert max(sizes.values()) < 1000, sizes


def test_no_private_names_from_outside_the_package():
    reached = []
    for path in PACKAGE.glob("*.py"):
        for module, names in _imports(path):
            outside = module.startswith("churnpredict") and not module.startswith(
                "churnpredict.cli"
            )
            # the command line is part of the package: it may use its private modules,
            # never a private name inside one
            reached += [
                (path.name, module, n)
                for n in names
                if outside and n.startswith("_") and f"{module}.{n}" not in MODULES
            ]
    assert reached == []


def test_the_library_does_not_import_the_command_line():
    root = PACKAGE.parent
    users = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if PACKAGE not in p.parents
        and p.name != "__main__.py"
        and any(
            m.startswith("churnpredict.cli") or (m == "churnpredict" and "cli" in names)
            for m, names in _imports(p)
        )
    ]
    assert users == []


def test_commands_in_help_order():
    group = typer.main.get_command(cli.app)
    assert list(group.list_commands(None)) == [
        "inspect",
        "train",
        "score",
        "evaluate",
        "metrics",
        "campaign",
        "recalibrate",
        "demo",
    ]


@pytest.mark.parametrize(
    "entry",
    [
        ["-m", "churnpredict"],
        ["-m", "churnpredict.cli"],
        ["-c", "from churnpredict.cli import main; main()"],
    ],
)
def test_entry_points(entry):
    out = subprocess.run(
        [sys.executable, *entry, "--version"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"churnpredict {__import__('churnpredict').__version__}"


# ------------------------------------------------------------------------ list options
SETTINGS = {
    "score": {
        "top": 50,
        "rank_by": "revenue",
        "min_probability": 0.2,
        "extra_columns": "plan",
        "status": "active",
    },
    "tiers": {"high": 0.5, "medium": 0.2},
    "actions": {"payments": "Call"},
}


def test_list_options_flags_over_the_config():
    options = list_options(SETTINGS, top=9, status="lapsed", holdout=0.25, seed=3)
    assert options == ListOptions(
        rank_by="revenue",
        top=9,
        min_probability=0.2,
        tiers={"high": 0.5, "medium": 0.2, "low": 0.0},
        actions={"payments": "Call"},
        extra_columns=("plan",),
        status="lapsed",
        holdout=0.25,
        random_state=3,
    )
    assert options.status == ("lapsed",)


def test_list_options_defaults():
    assert list_options({}) == ListOptions()


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"top": 0}, "--top 0; must be a whole number of at least 1"),
        ({"top": -2}, "--top -2; must be a whole number of at least 1"),
        ({"rank_by": "mood"}, "--rank-by 'mood'; use probability or revenue"),
        ({"min_probability": 2.0}, "--min-probability 2.0; must be between 0 and 1"),
        ({"status": "gone"}, "--status 'gone'; use active, lapsed, new or all"),
        ({"holdout": 1.0}, "--holdout 1.0; give the control share, between 0 and 1 (e.g. 0.2)"),
        (
            {"seed": 4},
            "--seed 4; the seed of the holdout draw: a whole number >= 0, given with --holdout",
        ),
    ],
)
def test_bad_list_flags_name_the_flag(flags, message):
    with pytest.raises(BadInput) as caught:
        list_options({}, **flags)
    assert str(caught.value) == message


def test_config_only_options_name_the_config():
    with pytest.raises(ChurnDataError) as caught:
        list_options({"score": {"extra_columns": ["rank"]}}, config=Path("churn.toml"))
    assert str(caught.value).startswith("config churn.toml: extra_columns ['rank'] clash")
    with pytest.raises(ChurnDataError, match=r"config churn.toml: tiers\['high'\]=-1"):
        list_options({"tiers": {"high": -1}}, config=Path("churn.toml"))
