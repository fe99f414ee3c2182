"""Label values against the card's labels: ``hub link``, ``hub verify`` and the runner's preparation refuse others."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from tests.plugins.datasets.fixtures import make_decathlon_task

LINK_MARKER = ("datasets", "decathlon", "spleen", ".medhub-link.json")


def put_label(path, values) -> None:
    """Overwrite a 4x4x4 label map so that it holds ``values`` (the rest background)."""
    data = np.zeros((4, 4, 4), dtype=np.uint8)
    data.flat[: len(values)] = values
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)


@pytest.fixture
def task(tmp_path):
    folder = tmp_path / "Task09_Spleen"
    make_decathlon_task(folder)
    return folder


def test_link_refuses_label_values_the_card_does_not_declare_and_names_the_files(hub, task, medhub_home):
    put_label(task / "labelsTr" / "tiny_2.nii.gz", [1, 5])
    put_label(task / "labelsTr" / "tiny_4.nii.gz", [7, 3])
    code, out, err = hub("link", "decathlon/spleen", task)
    assert code == 1 and out == "", err
    assert "2 label file(s) hold values the card does not declare" in err, err
    assert f"{(task / 'labelsTr' / 'tiny_2.nii.gz').resolve()}: label value(s) 5 are not among the card's labels " \
           "0 (background), 1 (spleen)" in err, err
    assert f"{(task / 'labelsTr' / 'tiny_4.nii.gz').resolve()}: label value(s) 3, 7 " in err, err
    assert not medhub_home.joinpath(*LINK_MARKER).exists()


def test_verify_reports_a_label_file_changed_after_linking(hub, task):
    assert hub("link", "decathlon/spleen", task)[0] == 0
    code, _, _ = hub("verify", "decathlon/spleen")
    assert code == 0
    put_label(task / "labelsTr" / "tiny_6.nii.gz", [2])
    code, out, _ = hub("verify", "decathlon/spleen")
    assert code == 1 and "tiny_6.nii.gz: label value(s) 2 are not among the card's labels" in out, out
    assert "decathlon/spleen: 1 problem(s)" in out


def test_a_non_integral_value_in_a_float_label_map_is_refused(hub, task):
    data = np.zeros((4, 4, 4), dtype=np.float32)
    data[0, 0, 0] = 0.5
    nib.save(nib.Nifti1Image(data, np.eye(4)), task / "labelsTr" / "tiny_1.nii.gz")
    code, _, err = hub("link", "decathlon/spleen", task)
    assert code == 1 and "tiny_1.nii.gz: label value(s) 0.5 are not among" in err, err


def test_each_label_file_is_read_once_and_slices_of_one_file_count_once(monkeypatch, tmp_path):
    from medhub.core import io as medhub_io
    from medhub.core.data.label_values import label_problems
    from medhub.core.plugin_manager import get_registry

    volume = tmp_path / "masks.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 3), dtype=np.uint8), np.eye(4)), volume)
    cases = [{"id": f"s{i}", "label": f"{volume}#slice={i}"} for i in range(3)] + [{"id": "again", "label": volume}]
    reads = []
    real = medhub_io.read_image
    monkeypatch.setattr(medhub_io, "read_image", lambda path, **kw: reads.append(str(path)) or real(path, **kw))
    assert label_problems(get_registry().dataset("decathlon/spleen"), cases, quiet=True) == []
    assert reads == [str(volume)]


def test_many_label_files_show_a_progress_bar_unless_quiet(capsys, task):
    from medhub.core.data.cases import parse_dataset
    from medhub.core.data.label_values import label_problems
    from medhub.core.plugin_manager import get_registry

    info = get_registry().dataset("decathlon/spleen")
    cases = parse_dataset(info.id, task).parts["train"]
    label_problems(info, cases, quiet=False)
    assert "check label values" in capsys.readouterr().err
    label_problems(info, cases, quiet=True)
    assert capsys.readouterr().err == ""


def test_only_voxel_label_maps_are_checked():
    from medhub.core.data.label_values import allowed_labels
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    assert allowed_labels(registry.dataset("synthetic/shapes")) is None  # classification: a class per case
    assert allowed_labels(registry.dataset("decathlon/spleen")) == [0, 1]
    assert allowed_labels(registry.dataset("brats/2020")) == [0, 1, 2, 4]


def test_label_values_are_counted_exactly_for_every_dtype():
    from medhub.core.data.label_values import label_values, unexpected_values

    assert label_values(np.array([0, 1, 5, 1], np.uint8)) == [0, 1, 5]
    assert label_values(np.array([-3, 2], np.int16)) == [-3, 2]
    assert label_values(np.array([2**40, 3], np.int64)) == [3, 2**40]
    assert label_values(np.array([True, False])) == [0, 1]
    assert label_values(np.array([0.0, 1.0, 0.5])) == [0, 0.5, 1]
    assert unexpected_values([0, 0.5, 1, 4], [0, 1, 2, 4]) == [0.5]
