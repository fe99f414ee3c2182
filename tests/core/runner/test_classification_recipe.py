"""The README's classification example learns with its defaults: well above chance on seeds 0, 1 and 2.

The command is read from README.md (the line marked ``# classification``) and run as written, on the full
``synthetic/shapes`` set its generator writes (240 training + 60 test images, 3 classes: chance is 1/3), with
only ``--seed`` (and ``--quiet``) added: the budget under test is the default one a new user gets.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"
SEEDS = (0, 1, 2)
MIN_ACCURACY = 0.8  # chance is 1/3


def readme_classification_command() -> list[str]:
    """The README's ``hub run ... # classification`` line, as arguments after ``hub``."""
    for line in README.read_text(encoding="utf-8").splitlines():
        command, _, comment = line.partition("#")
        if command.startswith("hub run ") and comment.strip().startswith("classification"):
            return shlex.split(command)[1:]
    raise AssertionError("README.md has no `hub run ... # classification` line")


def test_the_readme_example_is_the_shapes_run_with_its_defaults():
    args = readme_classification_command()
    assert args[:3] == ["run", "--dataset", "synthetic/shapes"]
    assert not [a for a in args[3:] if a != "--json"], "the example is meant to show the defaults"


@pytest.mark.slow
def test_the_readme_classification_example_beats_chance_on_three_seeds(hub, medhub_home):
    args = readme_classification_command()
    results = {}
    for seed in SEEDS:
        code, out, err = hub(*args, "--seed", seed, "--quiet", *([] if "--json" in args else ["--json"]))
        assert code == 0, err
        record = json.loads(out)
        assert record["dataset"]["id"] == "synthetic/shapes" and record["seed"] == seed
        assert len(record["metrics"]["per_case"]) == 60  # the whole labelled test split
        results[seed] = (record["metrics"]["aggregate"]["accuracy"], record["timings"]["total_s"])
    print(f"seed: (test accuracy, total seconds) {results}")  # shown by pytest -rA
    assert all(accuracy >= MIN_ACCURACY for accuracy, _ in results.values()), results
