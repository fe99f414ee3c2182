"""Grouped k-fold: cases sharing a ``group`` (one patient's frames) never straddle train and val."""

from __future__ import annotations

import pytest
from medhub.core.data.splits import make_manifest
from medhub.core.errors import MedhubError


def _frames(patients: int) -> list[dict]:
    return [{"id": f"p{p:03d}_{view}_{phase}", "group": f"p{p:03d}"}
            for p in range(patients) for view in ("2CH", "4CH") for phase in ("ED", "ES")]


@pytest.mark.parametrize("fold", range(5))
def test_a_patient_is_never_in_both_train_and_val(fold):
    cases = _frames(23)
    manifest = make_manifest("d", {"train": cases}, fold=fold, folds=5, seed=3)
    patient = {c["id"]: c["group"] for c in cases}
    train_patients = {patient[i] for i in manifest.train}
    val_patients = {patient[i] for i in manifest.val}
    assert val_patients and not (train_patients & val_patients)
    assert len(manifest.train) + len(manifest.val) == len(cases)
    assert len(manifest.val) % 4 == 0  # whole patients only


def test_the_folds_partition_the_patients():
    cases = _frames(12)
    seen = [make_manifest("d", {"train": cases}, fold=k, folds=4, seed=0).val for k in range(4)]
    flat = [i for ids in seen for i in ids]
    assert sorted(flat) == sorted(c["id"] for c in cases)


def test_cases_without_groups_split_as_before():
    cases = [{"id": f"c{i:02d}"} for i in range(10)]
    same = [{"id": c["id"], "group": c["id"]} for c in cases]
    assert make_manifest("d", {"train": cases}, 1).val == make_manifest("d", {"train": same}, 1).val


def test_too_few_patients_for_the_folds_says_so():
    with pytest.raises(MedhubError, match="case groups.*use --folds 3 or fewer"):
        make_manifest("d", {"train": _frames(3)}, folds=5)


def test_a_negative_seed_is_a_clear_error_in_hub_cases(hub):
    with pytest.raises(MedhubError, match=r"--seed must be 0 or more \(got -3\)"):
        make_manifest("d", {"train": _frames(10)}, seed=-3)
    assert hub("download", "synthetic/shapes", "--quiet")[0] == 0
    code, out, err = hub("cases", "synthetic/shapes", "--seed", "-3")
    assert code == 1 and out == "" and "--seed must be 0 or more" in err and "Traceback" not in err
