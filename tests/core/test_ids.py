"""The id / run id / file-name grammar and the containment check of derived paths."""

from __future__ import annotations

import pytest
from medhub.core import ids, paths
from medhub.core.errors import MedhubError


@pytest.mark.parametrize("value", ["decathlon/spleen", "camus", "covid-ct/kaggle", "brats/2020", "a.b/c_d-1"])
def test_valid_registry_ids(value):
    assert ids.check_registry_id(value, "dataset") == value


@pytest.mark.parametrize("value", ["..", ".", "../../victim", "a/../b", "a/b/c", "/abs", "Decathlon/spleen",
                                   "a b", "", "x/.hidden", "a" * 65, "a/", "a\n", 3, None])
def test_invalid_registry_ids_are_refused_with_the_grammar(value):
    with pytest.raises(MedhubError, match="family/name"):
        ids.check_registry_id(value, "dataset")


def test_aliases_allow_upper_case_but_not_paths():
    assert ids.check_alias("Task09_Spleen", "dataset", "decathlon/spleen") == "Task09_Spleen"
    with pytest.raises(MedhubError, match='dataset "decathlon/spleen": alias'):
        ids.check_alias("../Task09", "dataset", "decathlon/spleen")


@pytest.mark.parametrize("value", ["abc\n", "../outside/x", ".", "..", "a/b", "", "-x", "x" * 201])
def test_invalid_run_ids(value):
    assert not ids.is_run_id(value)
    with pytest.raises(MedhubError, match="--resume"):
        ids.check_run_id(value, "--resume")


@pytest.mark.parametrize("value", ["../x.tar", "a/b.tar", ".", "..", "", "a\x00b", "a\\b", "x" * 256])
def test_file_names_must_be_bare(value):
    with pytest.raises(MedhubError, match="sources"):
        ids.check_file_name(value, "sources[0].filename")


def test_schema_pattern_is_the_run_id_rule():
    import json
    import re
    from pathlib import Path

    import medhub.leaderboard

    schema = json.loads((Path(medhub.leaderboard.__file__).with_name("schema.json")).read_text())
    pattern = schema["properties"]["run_id"]["pattern"]
    assert pattern == ids.RUN_ID_PATTERN
    assert re.search(pattern, "abc")
    from medhub.leaderboard.record import schema_errors

    assert schema_errors("abc\n", schema["properties"]["run_id"])  # Python's "$" would let the newline pass
    assert not schema_errors("abc", schema["properties"]["run_id"])


def test_derived_paths_stay_inside(medhub_home, tmp_path):
    assert paths.dataset_dir("decathlon/spleen") == medhub_home / "datasets" / "decathlon" / "spleen"
    with pytest.raises(MedhubError):
        paths.dataset_dir("../../victim")
    assert paths.run_dir("20260101-x") == medhub_home / "runs" / "20260101-x"
    with pytest.raises(MedhubError, match="RUN_ID"):
        paths.run_dir("../../outside/x", "RUN_ID")
    link = medhub_home / "runs" / "escape"
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path)
    assert not paths.is_inside(link / "x", medhub_home / "runs")
    with pytest.raises(MedhubError, match="outside"):
        paths.require_inside(link / "x", medhub_home / "runs", "run escape")
