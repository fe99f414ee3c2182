"""The option table: one declaration per run option, from which validation, the ``hub run`` flags, the
``--resume`` check and docs/runner.md's table derive; the typed config object and its saved form."""

from __future__ import annotations

import argparse
import doctest
import json
import shlex
from pathlib import Path

import pytest
from medhub.core.errors import MedhubError
from medhub.core.runconfig import options, saved
from medhub.core.runconfig.flags import FLAG_OPTIONS
from medhub.core.runconfig.kinds import Axes, Choice, Count, Number
from medhub.core.runconfig.options import OPTION, OPTIONS, RunConfig
from medhub.core.runner import config as cfg

from tests.helpers import REPO


def run_parser() -> argparse.ArgumentParser:
    from medhub.core.commands import run

    parser = argparse.ArgumentParser(prog="hub run")
    run.add_arguments(parser)
    return parser


def sample_arguments(spec: options.Option) -> list[str]:
    """A valid command-line value of an option flag, from its kind."""
    kind = spec.kind
    if isinstance(kind, Choice):
        return [kind.choices[-1]]
    if isinstance(kind, Axes):
        return ["8", "8", "8"]
    if isinstance(kind, Count):
        return [str(kind.low + 1)]
    if isinstance(kind, Number):
        return ["0.5"]
    return ["cpu"] if spec.name == "device" else ["some-id"]


# ------------------------------------------------------------------------------------------- the saved form
def test_a_resolved_config_round_trips_through_its_dict():
    config = cfg.resolve(None, {"epochs": 2, "patch_size": [32, 32, 32]})
    as_dict = config.to_dict()
    # every option, but those left out at their default (the configs of runs that do not set them stay as they were)
    assert sorted(as_dict) == sorted(name for name, spec in OPTION.items() if spec.saved_at_default)
    again = RunConfig.from_dict(as_dict)
    assert again == config and again.to_dict() == as_dict
    assert saved.config_hash(again) == saved.config_hash(as_dict) == saved.config_hash(config)


def test_an_old_config_without_newer_keys_loads_with_defaults_and_saves_as_it_was(tmp_path):
    old = cfg.resolve(None, {}).to_dict()
    for key in ("num_workers", "deterministic_gpu", "eval_split", "nsd_tolerance", "loss", "steps_per_epoch"):
        del old[key]
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = saved.read_saved_config(tmp_path)
    assert config.num_workers == "auto" and config.deterministic_gpu is False
    assert config.eval_split is None and config.nsd_tolerance == 1.0
    # keys whose default depends on the task take the saved dataset's (synthetic/spheres: segmentation)
    assert config.loss == "dice_ce" and config.steps_per_epoch == 16
    assert config.to_dict() == old and saved.config_hash(config) == saved.config_hash(old)
    # a change keeps the old keys out, and puts in the one it changes
    changed = config.replace(loss="bce", num_workers=2)
    assert changed.to_dict() == {**old, "loss": "bce", "num_workers": 2}


def test_a_saved_config_with_an_unknown_key_or_a_bad_value_names_the_file(tmp_path):
    good = cfg.resolve(None, {}).to_dict()
    (tmp_path / "config.json").write_text(json.dumps({**good, "epoch": 3}))
    with pytest.raises(MedhubError, match=r'config\.json: unknown configuration key "epoch" \(did you mean "epochs"'):
        saved.read_saved_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**good, "sw_overlap": 2}))
    with pytest.raises(MedhubError, match=r"config\.json: sw_overlap=2 \(--set or config file\): expected a number"):
        saved.read_saved_config(tmp_path)


def test_a_key_without_a_task_free_default_must_be_present():
    with pytest.raises(MedhubError, match='^record: key "model" is missing'):
        saved.saved_config({"dataset": "nobody/registers-this"}, "record")
    with pytest.raises(MedhubError, match='"epochs" is missing'):
        RunConfig.from_dict({"model": "unet3d"}, where="record")
    assert RunConfig.from_dict({"model": "unet3d"}, task="regression").epochs == 5


def test_replace_validates():
    config = cfg.resolve(None, {})
    with pytest.raises(MedhubError, match="--amp fast: expected one of auto, bf16, fp16, off"):
        config.replace(amp="fast")
    with pytest.raises(MedhubError, match='unknown configuration key "amps"'):
        config.replace(amps="off")
    assert config.replace(seed=3).seed == 3 and config.seed == 0


@pytest.mark.parametrize("values, expected", [
    ({"lr": float("inf")}, "--lr inf: expected a positive number"),
    ({"channels_last": 1}, 'channels_last=1 \\(--set or config file\\): expected "auto", true or false'),
    ({"model_hparams": []}, "model_hparams=\\[\\] .*: expected a mapping of the model's hyper-parameters"),
    ({"epochs": None}, "--epochs None: expected a whole number >= 1"),
    # refused before too, now in the same form as every other key
    ({"num_workers": -1}, 'num_workers=-1 \\(--set or config file\\): expected "auto" or a whole number of batch'),
])
def test_values_the_old_checks_let_through_are_refused(values, expected):
    base = cfg.resolve(None, {}).to_dict()
    with pytest.raises(MedhubError, match=expected):
        RunConfig.from_dict({**base, **values})


def test_null_is_accepted_exactly_where_the_annotation_allows_it():
    base = cfg.resolve(None, {}).to_dict()
    for spec in OPTIONS:
        if spec.nullable:
            config = RunConfig.from_dict({**base, spec.name: None})
            assert getattr(config, spec.name) is None
            assert config.to_dict()[spec.name] is None if spec.saved_at_default else spec.name not in config.to_dict()
        else:
            with pytest.raises(MedhubError, match=f"{spec.name.replace('_', '.')}.*(None|null)"):
                RunConfig.from_dict({**base, spec.name: None})


def test_the_docstring_example_holds():
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(RunConfig, "RunConfig", globs={}):
        runner.run(test)
    assert runner.tries >= 2 and runner.failures == 0


# ------------------------------------------------------------------------------------------- hub run flags
@pytest.mark.parametrize("spec", FLAG_OPTIONS, ids=lambda s: s.name)
def test_every_flag_option_parses_as_its_kind_and_resume_refuses_it(spec, monkeypatch):
    from medhub.core.commands import run
    from medhub.core.runner import driver

    args = run_parser().parse_args(["--resume", "some-run", spec.flag_name, *sample_arguments(spec)])
    value = getattr(args, spec.name)
    assert spec.problem(value, 3) is None  # what argparse made is a valid value of the option
    monkeypatch.setattr(driver, "resume", lambda *a, **k: pytest.fail("resumed despite a config flag"))
    with pytest.raises(MedhubError, match=f"{spec.flag_name} cannot change it"):
        run.run(args)


def test_choice_flags_take_their_choices_from_the_option_table(hub):
    parser = run_parser()
    by_dest = {action.dest: action for action in parser._actions}
    for spec in FLAG_OPTIONS:
        if isinstance(spec.kind, Choice):
            assert tuple(by_dest[spec.name].choices) == spec.kind.choices
    code, _, err = hub("run", "--amp", "fast")
    assert code == 2 and "choose from 'auto', 'bf16', 'fp16', 'off'" in err


def test_flag_help_shows_the_option_help_and_its_default():
    text = run_parser().format_help()
    assert "training epochs (default: segmentation: 10; classification: 6; regression: 5)" in " ".join(text.split())
    assert "--patch-size N [N ...]" in text and "--early-stopping EPOCHS" in text


def test_every_example_of_hub_run_help_parses():
    from medhub.core.cli import build_parser
    from medhub.core.commands.run import EXAMPLES

    lines = [line.strip() for line in EXAMPLES.strip().splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    comments = [line for line in lines if line.startswith("# ")]
    assert len(commands) >= 5 and len(comments) == len(commands)
    parser = build_parser()
    for line in commands:
        words = shlex.split(line)
        assert words[:2] == ["hub", "run"], line
        parser.parse_args(words[1:])  # exits 2 on a line argparse refuses


# ------------------------------------------------------------------------------------------- docs
def test_docs_runner_md_holds_the_generated_options_table():
    text = (REPO / "docs" / "runner.md").read_text(encoding="utf-8")
    assert options.with_table(text) == text, ("docs/runner.md's options table is stale: run "
                                              "python -m medhub.core.runconfig.options --update docs/runner.md")
    assert options.markdown_table() in text
    assert all(f"| `{spec.name}` |" in text for spec in OPTIONS)


def test_the_options_module_prints_and_updates_the_table(tmp_path: Path, capsys):
    assert options.main(["--markdown"]) == 0
    assert capsys.readouterr().out.strip() == options.markdown_table()
    doc = tmp_path / "runner.md"
    doc.write_text(f"# Runner\n\n{options.TABLE_START}\n| stale |\n{options.TABLE_END}\n\nafter\n")
    assert options.main(["--update", str(doc)]) == 0
    table = f"{options.TABLE_START}\n{options.markdown_table()}\n{options.TABLE_END}"
    assert doc.read_text() == f"# Runner\n\n{table}\n\nafter\n"
    doc.write_text("no markers\n")
    with pytest.raises(MedhubError, match="no options table markers"):
        options.main(["--update", str(doc)])
    assert doc.read_text() == "no markers\n"
