"""The helpers the built-in layout parsers share: the one CSV reader and its errors."""

from __future__ import annotations

import pytest
from medhub.core.errors import MedhubError
from medhub.plugins.datasets._layout_helpers import read_csv

from tests.plugins.datasets.fixtures import make_bone_age, make_covid_kaggle, make_panda


def test_rows_come_with_the_line_they_end_on(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_bytes('\ufeffid,label\na,1\n\nb,"two\nlines"\nc,3\n'.encode())  # BOM, blank line, quoted newline
    assert read_csv(path, ("id", "label")) == [(2, {"id": "a", "label": "1"}), (5, {"id": "b", "label": "two\nlines"}),
                                               (6, {"id": "c", "label": "3"})]


def test_missing_columns_name_the_file_the_columns_and_the_header(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("image_id,grade\nx,1\n")
    with pytest.raises(MedhubError) as err:
        read_csv(path, ("image_id", "isup_grade", "data_provider"))
    assert str(err.value) == f"{path}: missing column(s) isup_grade, data_provider (has: image_id, grade)"


def test_an_unreadable_or_undecodable_file_is_one_line_naming_it(tmp_path):
    absent = tmp_path / "labels.csv"
    with pytest.raises(MedhubError) as err:
        read_csv(absent, what="the case list", fix="; is DIR an image-csv dataset?")
    assert str(err.value) == f"{absent}: cannot read the case list (No such file or directory); is DIR an image-csv dataset?"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,name\n1,M\xfcller\n")
    with pytest.raises(MedhubError, match=f"^{latin}: not a readable CSV file") as err:
        read_csv(latin)
    assert "\n" not in str(err.value)


def test_panda_and_bone_age_errors_name_the_true_line(tmp_path):
    from medhub.plugins.datasets.panda import parse_panda
    from medhub.plugins.datasets.rsna import parse_bone_age

    make_panda(tmp_path / "panda", n_train=3, n_test=0, test_images=False)
    train = tmp_path / "panda" / "train.csv"
    lines = train.read_text().splitlines()
    lines.insert(1, "")  # a blank line moves the bad row to line 5
    lines[4] = lines[4].replace(",2,", ",7,")
    train.write_text("\n".join(lines) + "\n")
    with pytest.raises(MedhubError, match=f"^{train}, line 5: expected an image_id and an isup_grade 0-5"):
        parse_panda(tmp_path / "panda")
    make_bone_age(tmp_path / "bone", n_train=3, n_test=1)
    csv_path = tmp_path / "bone" / "boneage-training-dataset.csv"
    csv_path.write_text(csv_path.read_text().replace(",24,", ",young,"))
    with pytest.raises(MedhubError, match=f"^{csv_path}, line 3: boneage 'young' is not a number"):
        parse_bone_age(tmp_path / "bone")


def test_covid_kaggle_metadata_without_a_column_is_refused_by_link(hub, tmp_path):
    make_covid_kaggle(tmp_path / "covid")
    meta = tmp_path / "covid" / "metadata.csv"
    meta.write_text(meta.read_text().replace("infection_mask,lung_and", "infection,lung_and", 1))
    code, _, err = hub("link", "covid-ct/kaggle", tmp_path / "covid")
    assert code == 1 and str(meta.resolve()) in err and "missing column(s) infection_mask" in err
    assert len(err.strip().splitlines()) == 1
