"""``hub --help`` and ``hub CMD --help``: every command shows an examples block, and every example is a real
command line (argparse accepts it; the dataset, model and metric ids it names are registered)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from medhub.core import cli

# Commands whose EXAMPLES another developer is writing; an entry here may lack EXAMPLES (once it has them they
# are checked like every other command's). Remove the entry when that command's EXAMPLES are merged.
PENDING_EXAMPLES: set[str] = set()

MODULES = {mod.NAME: mod for mod in cli.command_modules()}
ENV_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")
PATTERN_CHARS = set("*?[")


def example_lines(text: str) -> list[str]:
    """Every command line of an ``EXAMPLES`` text, in order."""
    return [line for _comment, lines in cli.example_groups(text) for line in lines]


def hub_argv(line: str) -> list[str]:
    """The arguments after ``hub`` of an example line: ``[VAR=value ...] hub ARGS``, or a launcher running the
    module (``python -m medhub ARGS``, ``torchrun --nproc_per_node=2 -m medhub ARGS``)."""
    words = shlex.split(line)
    while words and ENV_ASSIGNMENT.match(words[0]):
        words.pop(0)
    if words[:1] == ["hub"]:
        return words[1:]
    module_at = [i for i in range(len(words) - 1) if words[i:i + 2] == ["-m", "medhub"]]
    assert module_at, f"{line!r} runs neither hub nor python -m medhub"
    return words[module_at[0] + 2:]


def parse(line: str):
    """The namespace ``build_parser()`` makes of an example line; a usage error (exit 2) fails the test."""
    try:
        return cli.build_parser().parse_args(hub_argv(line))
    except SystemExit as exc:  # argparse refused the line (exit 2) or printed help / version (exit 0)
        pytest.fail(f"{line!r}: argparse exited with {exc.code}")


def is_placeholder(value: str) -> bool:
    """``RUN_ID``, ``ID``: a word the user replaces, not a registry id."""
    return value.isupper()


def check_registered(ns, line: str) -> None:
    """The dataset / model / metric ids an example names resolve in the registry; its patterns match something."""
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    names = [*(getattr(ns, "ids", None) or ()), *(getattr(ns, k, None) for k in ("id", "dataset", "model"))]
    for name in (n for n in names if isinstance(n, str) and not is_placeholder(n)):
        if PATTERN_CHARS & set(name):
            assert registry.datasets.match(name) or registry.models.match(name), f"{line!r}: {name} matches nothing"
        else:
            registry.entry(name)  # UnknownIdError names the closest ids
    metrics = [getattr(ns, "metric", None), *(getattr(ns, "metrics", None) or "").split(",")]
    for metric in (m for m in metrics if m):
        registry.metric(metric)


EXAMPLE_CASES = [(name, line) for name, mod in MODULES.items() for line in example_lines(getattr(mod, "EXAMPLES", ""))]


@pytest.mark.parametrize("name", sorted(set(MODULES) - PENDING_EXAMPLES))
def test_every_command_module_defines_examples(name):
    text = getattr(MODULES[name], "EXAMPLES", None)
    assert isinstance(text, str) and example_lines(text), f"core/commands/{name}.py defines no EXAMPLES"


def test_pending_examples_name_real_commands():
    assert PENDING_EXAMPLES <= set(MODULES)


def test_launcher_lines_parse_like_hub_lines():
    assert hub_argv("torchrun --nproc_per_node=2 -m medhub run --device cuda") == ["run", "--device", "cuda"]
    assert hub_argv("MEDHUB_HOME=/scratch python -m medhub datasets") == hub_argv("hub datasets") == ["datasets"]


@pytest.mark.parametrize("name", sorted(n for n, m in MODULES.items() if hasattr(m, "EXAMPLES")))
def test_each_example_runs_its_own_command_after_a_comment(name):
    groups = cli.example_groups(MODULES[name].EXAMPLES)  # raises on a command line without a comment
    assert all(comment for comment, _lines in groups), name
    for _comment, lines in groups:
        for line in lines:
            assert hub_argv(line)[:1] == [name], f"{line!r} is an example of hub {name}"


@pytest.mark.parametrize(("name", "line"), EXAMPLE_CASES, ids=[line for _n, line in EXAMPLE_CASES])
def test_every_example_line_parses_and_names_registered_ids(name, line):
    ns = parse(line)
    assert ns.command == name and ns._run is MODULES[name].run
    check_registered(ns, line)


# Commands that need no data on disk, no run and no network: their examples run as they are.
SELF_CONTAINED = ("plugins", "datasets", "models", "info", "cache")


@pytest.mark.parametrize("line", [line for name, line in EXAMPLE_CASES if name in SELF_CONTAINED])
def test_the_examples_of_commands_that_need_no_data_run_and_succeed(hub, line):
    code, out, err = hub(*hub_argv(line))
    assert code == 0 and out.strip(), err


@pytest.mark.parametrize("name", sorted(MODULES))
def test_command_help_shows_the_examples_block_with_its_lines_as_written(hub, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "60")  # narrower than most example lines: they must not be wrapped
    code, out, _ = hub(name, "--help")
    assert code == 0
    text = getattr(MODULES[name], "EXAMPLES", None)
    if text is None:
        assert name in PENDING_EXAMPLES and "examples:" not in out
        return
    block = out[out.index("\nexamples:\n"):]
    for comment, lines in cli.example_groups(text):
        assert f"\n  # {comment}\n" in block
        for line in lines:
            assert f"\n  {line}\n" in block + "\n"


def test_an_epilog_set_by_add_arguments_comes_first_and_is_wrapped(hub, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    code, out, _ = hub("download", "--help")
    epilog = out[out.index("A second hub download"):out.index("\nexamples:\n")]
    assert code == 0 and "MEDHUB_MAX_EXPANSION" in epilog
    assert len(epilog.strip().splitlines()) > 1 and all(len(line) <= 60 for line in epilog.splitlines())


def test_top_level_help_lists_the_common_workflows(hub, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    code, out, _ = hub("--help")
    assert code == 0 and "\ncommon workflows:\n" in out and "$MEDHUB_HOME" in out
    lines = example_lines(cli.WORKFLOWS)
    for line in lines:
        assert f"\n  {line}\n" in out
        check_registered(parse(line), line)
    steps = [hub_argv(line)[0] for line in lines]
    assert steps == ["download", "run", "leaderboard", "predict", "submit", "evaluate"]


def test_example_groups_refuses_a_command_without_a_comment_and_a_comment_without_a_command():
    assert cli.example_groups("\n# a\nhub a\nhub b\n# c\nhub c\n") == [("a", ["hub a", "hub b"]), ("c", ["hub c"])]
    with pytest.raises(ValueError, match="'hub a' has no '# what it does' comment"):
        cli.example_groups("hub a\n# b\nhub b\n")
    with pytest.raises(ValueError, match="'b' has no command line after it"):
        cli.example_groups("# a\nhub a\n# b\n")
    with pytest.raises(ValueError, match="'a' has no command line after it"):
        cli.example_groups("# a\n# b\nhub b\n")


def test_examples_block_indents_every_line_and_separates_the_groups():
    text = "\n    # one\n    hub a --x\n    # two\n    hub b\n    hub c\n"
    assert cli.examples_block(text) == "examples:\n  # one\n  hub a --x\n\n  # two\n  hub b\n  hub c"
    assert cli.examples_block(None) == "" and cli.examples_block("\n \n") == ""
    assert cli.join_epilog(None, "", "a", "b\n") == "a\n\nb" and cli.join_epilog(None, "") is None


def test_every_help_page_stays_free_of_torch_and_numpy():
    code = (
        "import sys\n"
        "from medhub.core.cli import command_modules, main\n"
        "for name in [None, *(m.NAME for m in command_modules())]:\n"
        "    try:\n"
        "        main([name, '--help'] if name else ['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'SimpleITK', 'pandas', 'nibabel', 'numpy', 'scipy') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
