"""``hub submit --out``: the name must carry the package's suffix; a refused or failed package leaves nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from medhub.core.errors import MedhubError


@pytest.fixture
def fake_run(medhub_home):
    """A run folder that passes ``run_folder`` (config + checkpoint) without any training."""
    from medhub.core.inference.run_loading import CHECKPOINT

    folder = medhub_home / "runs" / "fake"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / CHECKPOINT).write_bytes(b"")
    (folder / "config.json").write_text(json.dumps({"dataset": "synthetic/spheres"}))
    return "fake"


@pytest.mark.parametrize("name,suggested", [("x.tar", "x.zip"), ("x.tar.gz", "x.zip"), ("x", "x.zip"),
                                            ("x.zip.txt", "x.zip")])
def test_an_out_name_without_the_package_suffix_is_refused_before_anything_runs(hub, fake_run, tmp_path,
                                                                               monkeypatch, name, suggested):
    from medhub.core.inference import predict

    monkeypatch.setattr(predict, "predict_run", lambda *a, **k: pytest.fail("predicted despite a bad --out"))
    out = tmp_path / "new" / name
    code, stdout, err = hub("submit", fake_run, "--out", out, "--quiet")
    assert code == 1 and stdout == ""
    assert f"--out {out}" in err and "must end in .zip" in err and "nifti-archive" in err, err
    assert f"--out {out.with_name(suggested)}" in err, err
    assert not (tmp_path / "new").exists()


def test_an_out_folder_is_refused(hub, fake_run, tmp_path):
    code, _, err = hub("submit", fake_run, "--out", tmp_path)
    assert code == 1 and f"--out {tmp_path}: a folder" in err and "submission-synthetic-spheres.zip" in err


def test_a_matching_suffix_passes_the_check_in_any_case(tmp_path):
    from medhub.core.plugin_manager import get_registry
    from medhub.core.submission.formats import NIFTI_ARCHIVE
    from medhub.core.submission.package import check_out_suffix

    info = get_registry().dataset("synthetic/spheres")
    for name in ("sub.zip", "SUB.ZIP", "sub.v2.zip"):
        check_out_suffix(tmp_path / name, NIFTI_ARCHIVE, info)
    with pytest.raises(MedhubError, match=r"must end in \.zip"):
        check_out_suffix(tmp_path / "sub.tar", NIFTI_ARCHIVE, info)


def test_a_package_failing_validation_leaves_no_folder_it_made(hub, fake_run, tmp_path, medhub_home, monkeypatch):
    from medhub.core.inference import run_loading
    from medhub.core.submission import formats
    from medhub.core.submission import package as submit

    monkeypatch.setattr(run_loading, "split_cases_of", lambda config, info, split: [])
    manifest = medhub_home / "runs" / fake_run / "predictions" / "test" / "predictions.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"tta": False, "cases": [], "out": str(manifest.parent)}))
    failing = formats.SubmissionFormat("nifti-archive", formats.build_nifti_archive,
                                      lambda package, cases, info: ['case "c1": missing'], ".zip")
    monkeypatch.setattr(submit, "format_for", lambda info: failing)
    out = tmp_path / "a" / "b" / "sub.zip"
    code, _, err = hub("submit", fake_run, "--out", out, "--quiet")
    assert code == 1 and 'case "c1": missing' in err and "nothing was written" in err
    assert not (tmp_path / "a").exists() and list(Path(tmp_path).iterdir()) == [medhub_home]
