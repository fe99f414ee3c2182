"""PANDA: TIFF pyramid levels, the Kaggle layout through hub link / cases / verify, and a one-epoch run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from medhub.core.errors import MedhubError

from tests.plugins.datasets.fixtures import make_panda, write_pyramid


@pytest.mark.parametrize("style", ["subifds", "reduced", "pages"])
def test_tiff_levels_in_every_storage_style(tmp_path, style):
    from medhub.core.io import read_image

    rgb = (np.arange(37 * 45 * 3) % 251).astype(np.uint8).reshape(37, 45, 3)
    path = tmp_path / "slide.tiff"
    write_pyramid(path, rgb, style=style)
    full, level1, level2 = (read_image(f"{path}#level={k}") for k in range(3))
    assert full.array.shape == (3, 45, 37) and level1.array.shape == (3, 12, 10) and level2.array.shape == (3, 3, 3)
    np.testing.assert_array_equal(level1.array, rgb[::4, ::4].transpose(2, 1, 0))
    assert full.meta["levels"] == 3 and level1.spacing == pytest.approx((45 / 12, 37 / 10))
    with pytest.raises(MedhubError, match="level 3 does not exist"):
        read_image(f"{path}#level=3")


@pytest.fixture
def panda_dir(tmp_path):
    folder = tmp_path / "prostate-cancer-grade-assessment"
    rows = make_panda(folder)
    return folder, rows


def test_card_names_the_competition_and_level(hub):
    code, out, _ = hub("info", "panda", "--json")
    card = json.loads(out)
    assert code == 0 and card["access"] == "kaggle" and card["task"] == "classification"
    assert card["layout_options"] == {"kaggle": {"competition": "prostate-cancer-grade-assessment"}, "level": 2}
    assert card["ranking_metric"] == "qwk" and "prostate-cancer-grade-assessment/rules" in card["instructions"]


def test_link_then_cases(hub, panda_dir):
    folder, rows = panda_dir
    assert hub("link", "panda", folder.parent)[0] == 0  # the parent folder is accepted too
    cases = json.loads(hub("cases", "panda", "--split", "all", "--json")[1])
    by_id = {c["id"]: c for c in cases}
    assert sorted(by_id) == sorted(r["image_id"] for r in rows)
    first, second = rows[0]["image_id"], rows[1]["image_id"]
    assert by_id[second]["label"] == 1 and by_id[second]["data_provider"] == "radboud"
    assert by_id[second]["image"] == f"{(folder / 'train_images' / second).resolve()}.tiff#level=2"
    assert by_id[second]["mask"].endswith(f"{second}_mask.tiff#level=2") and "mask" not in by_id[first]
    val = [json.loads(hub("cases", "panda", "--split", "val", "--fold", k, "--json")[1]) for k in range(5)]
    assert sorted(c["id"] for v in val for c in v) == sorted(by_id)  # 5-fold: each slide validated once
    test = json.loads(hub("cases", "panda", "--split", "test", "--json")[1])
    assert len(test) == 2 and all("label" not in c for c in test)


def test_public_download_without_test_images_has_no_test_part(tmp_path):
    from medhub.plugins.datasets.panda import parse_panda, verify_panda

    make_panda(tmp_path, n_train=3, test_images=False)
    assert parse_panda(tmp_path)["test"] == [] and verify_panda(tmp_path) == []


def test_verify_names_missing_and_extra_files(hub, panda_dir):
    folder, rows = panda_dir
    assert hub("link", "panda", folder)[0] == 0
    (folder / "train_images" / f"{rows[3]['image_id']}.tiff").unlink()
    (folder / "train_label_masks" / "stray_mask.tiff").write_bytes(b"")
    code, out, _ = hub("verify", "panda", "--json")
    problems = json.loads(out)["problems"]
    assert code == 1
    assert any("missing file" in p and rows[3]["image_id"] in p for p in problems)
    assert any("extra file" in p and "stray_mask.tiff" in p for p in problems)


def test_bad_grade_names_the_line(tmp_path):
    from medhub.plugins.datasets.panda import parse_panda

    make_panda(tmp_path, n_train=2, n_test=0, test_images=False)
    text = (tmp_path / "train.csv").read_text().splitlines()
    text[2] = text[2].replace(",1,", ",9,")
    (tmp_path / "train.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(MedhubError, match="line 3.*isup_grade 0-5"):
        parse_panda(tmp_path)


def test_one_epoch_run(hub, panda_dir):
    folder, _ = panda_dir
    assert hub("link", "panda", folder)[0] == 0
    code, out, err = hub("run", "--dataset", "panda", "--model", "resnet18-2d", "--epochs", 1, "--steps-per-epoch", 1,
                         "--batch-size", 2, "--patch-size", 8, 8, "--json", "--quiet")
    assert code == 0, err
    record = json.loads(out)
    assert record["ranking"]["metric"] == "qwk" and "qwk" in record["metrics"]["aggregate"]
