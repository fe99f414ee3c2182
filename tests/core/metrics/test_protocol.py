"""Evaluation protocols as data: parsing (errors name the dataset and the field), the default protocol (medhub's
behaviour before protocols, exactly), the rules (empty masks, NaN, slices, relative_to, ranking formulas,
overrides), and per challenge a tiny reference / prediction pair whose official score was computed by hand."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.metrics import protocol as protocols
from medhub.core.metrics.protocol import (
    aggregate_protocol,
    default_protocol,
    labels_protocol,
    parse_protocol,
    protocol_of,
    score_case,
)
from medhub.core.metrics.segmentation import PER_CASE, aggregate
from medhub.core.plugin_manager import get_registry
from medhub.core.registry import DatasetInfo


def card(**fields) -> DatasetInfo:
    base = {"id": "myorg/brain", "title": "t", "task": "segmentation", "dims": 3, "layout": "decathlon",
            "labels": {"0": "bg", "1": "core", "2": "edema", "4": "enhancing"}, "metrics": ("dice", "hd95")}
    return DatasetInfo(**{**base, **fields})


def rows_by_region(rows):
    return {r["label"]: r for r in rows}


def test_the_module_examples_run():
    result = doctest.testmod(protocols, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0


# ---------------------------------------------------------------- parsing

@pytest.mark.parametrize("mapping, message", [
    ({"surface": "mesh"}, '"surface" must be one of voxels, elements'),
    ({"regions": {"ET": [4.0]}}, "protocol.regions.ET must be a non-empty list of label values"),
    ({"regions": {"E/T": [4]}}, 'protocol.regions key must be a name of letters, digits and "_.+-" (no "/")'),
    ({"metrics": []}, "protocol.metrics must be a non-empty list of metrics"),
    ({"metrics": ["dice", "dice"]}, 'metric name(s) dice given twice; give one a "name"'),
    ({"metrics": [{"metric": "hd95", "option": {}}]}, "protocol.metrics[0] has unknown key(s) option"),
    ({"regions": {"a": [1], "b": [2]}, "metrics": {"a": ["dice"]}}, "missing b"),
    ({"tolerance": -1}, "protocol.tolerance must be >= 0"),
    ({"tolerance": {"nowhere": 2}}, "protocol.tolerance names unknown region(s) nowhere"),
    ({"empty": {"hd": {"both_empty": 0}}}, 'protocol.empty names metric "hd", which no region scores'),
    ({"empty": {"dice": {"one_empty": 0}}}, "protocol.empty.dice has unknown case(s) one_empty"),
    ({"empty": {"dice": {"both_empty": "one"}}}, 'protocol.empty.dice.both_empty must be a finite number or "nan"'),
    ({"scoring": "2d"}, '"scoring" must be one of whole, slices'),
    ({"aggregation": {"nan": "drop"}}, '"aggregation.nan" must be one of skip, value, error'),
    ({"ranking": "dice/XX"}, '"dice/XX" is not an aggregate of this protocol'),
    ({"ranking": {"name": "score", "mean": ["dice", "nsd"]}}, '"nsd" is not an aggregate of this protocol'),
    ({"version": ""}, '"version" must be a non-empty string'),
    ({"metrics": [{"metric": "volume_difference", "relative_to": "myo"}]}, 'relative_to unknown region "myo"'),
    ({"oops": 1}, "unknown key(s) oops"),
])
def test_a_bad_protocol_is_an_error_naming_the_dataset_and_the_field(mapping, message):
    with pytest.raises(MedhubError) as caught:
        parse_protocol(mapping, card())
    assert str(caught.value).startswith('dataset "myorg/brain": protocol') and message in str(caught.value)


def test_registration_refuses_unknown_protocol_keys_and_non_mappings():
    with pytest.raises(MedhubError, match='"protocol" has unknown key \'ranks\' \\(did you mean ranking\\?\\)'):
        card(protocol={"ranks": "dice"}).validate()
    with pytest.raises(MedhubError, match='"protocol" must be a mapping with string keys'):
        card(protocol=["dice"]).validate()
    card(protocol={"ranking": "dice"}).validate()


def test_unknown_or_dataset_level_metrics_are_refused_when_the_protocol_is_read():
    with pytest.raises(MedhubError, match='dataset "myorg/brain": protocol: unknown segmentation metric "dise" '
                                          r"\(did you mean dice"):
        protocol_of(card(protocol={"metrics": ["dise"]}))
    with pytest.raises(MedhubError, match='metric "auc" scores a whole dataset'):
        protocol_of(card(protocol={"metrics": ["auc"]}))
    with pytest.raises(MedhubError, match="only a segmentation dataset declares a protocol"):
        protocol_of(card(task="classification", dims=2, protocol={"ranking": "auc"}))


def test_omitted_keys_take_the_datasets_defaults():
    parsed = parse_protocol({"surface": "elements"}, card(preprocessing={"regions": {"WT": [1, 2, 4]}}),
                            nsd_tolerance=3.0)
    assert parsed.id == "myorg/brain" and parsed.version == "1" and parsed.declared
    assert [(r.label, r.values, r.tolerance) for r in parsed.regions] == [("WT", (1, 2, 4), 3.0)]
    assert parsed.metric_names() == ["dice", "hd95"] and parsed.ranking.name == "dice"


# ---------------------------------------------------------------- the default protocol is today's behaviour

def two_label_case(seed=0):
    rng = np.random.default_rng(seed)
    ref = np.zeros((12, 10, 8), np.int64)
    ref[2:8, 2:7, 1:6] = 1
    ref[8:11, 5:9, 2:7] = 2
    pred = np.where(rng.random(ref.shape) < 0.1, rng.integers(0, 3, ref.shape), ref)
    return pred, ref


def test_the_default_protocol_scores_each_label_with_the_card_metrics_as_before():
    info = get_registry().dataset("synthetic/spheres")  # labels 1, 2; dice, hd95, nsd; no protocol
    protocol = protocol_of(info, nsd_tolerance=2.0)
    assert protocol.id == "default" and not protocol.declared and protocol.surface == "voxels"
    rows, expected = [], []
    for case in ("a", "b"):
        pred, ref = two_label_case(seed=ord(case))
        rows += score_case(pred, ref, (1.0, 1.0, 1.5), protocol, case)
        for label in (1, 2):  # the metric functions called directly, as medhub scored before protocols
            cache: dict = {}
            expected.append({"case": case, "label": label, **{
                m: PER_CASE[m](pred == label, ref == label, (1.0, 1.0, 1.5), tolerance=2.0, cache=cache)
                for m in ("dice", "hd95", "nsd")}})
    assert rows == expected
    assert aggregate_protocol(rows, protocol) == aggregate(rows, ("dice", "hd95", "nsd"))


def test_the_default_protocol_takes_the_cards_regions_and_keeps_raw_empty_values():
    protocol = default_protocol(card(preprocessing={"regions": {"ET": [4], "WT": [1, 2, 4]}}))
    ref = np.zeros((6, 6, 1), np.int64)
    ref[1:3, 1:3] = 1
    rows = rows_by_region(score_case(ref, ref, (1, 1, 1), protocol, "c"))
    assert math.isnan(rows["ET"]["dice"]) and math.isnan(rows["ET"]["hd95"])  # absent on both sides
    assert rows["WT"] == {"case": "c", "label": "WT", "dice": 1.0, "hd95": 0.0}
    agg = aggregate_protocol(list(rows.values()), protocol)
    assert agg["dice"] == 1.0 and math.isnan(agg["ET"]["dice"])  # NaN left out of the overall mean


# ---------------------------------------------------------------- BraTS 2020

def brats_pair():
    """WT: a 10-voxel line in the reference, two voxels more 10 mm away in the prediction (label 1, so TC is
    predicted where the reference has none); ET absent on both sides."""
    ref = np.zeros((12, 12, 1), np.int64)
    ref[0:10, 0, 0] = 2
    pred = ref.copy()
    pred[0:2, 10, 0] = 1
    return pred, ref


def test_brats_empty_regions_and_hd95_follow_the_challenge():
    protocol = protocol_of(get_registry().dataset("brats/2020"))
    pred, ref = brats_pair()
    rows = rows_by_region(score_case(pred, ref, (1.0, 1.0, 1.0), protocol, "BraTS20_Training_001"))
    assert rows["ET"]["dice"] == 1.0 and rows["ET"]["hd95"] == 0.0  # absent from both: Dice 1, HD95 0
    assert rows["TC"]["dice"] == 0.0 and rows["TC"]["hd95"] == pytest.approx(373.13, abs=0.005)  # one side only
    # WT: Dice 2*10/(10+12); HD95 over both directions' 22 boundary distances together (20 zeros and two 10 mm):
    # numpy.percentile at rank 0.95 * 21 = 19.95 -> 0.95 * 10 = 9.5 mm (the larger directed percentile is 10)
    assert rows["WT"]["dice"] == pytest.approx(20 / 22) and rows["WT"]["hd95"] == pytest.approx(9.5)
    agg = aggregate_protocol(list(rows.values()), protocol)
    assert agg["dice"] == pytest.approx((1 + 0 + 20 / 22) / 3) and agg["ET"] == {"dice": 1.0, "hd95": 0.0}

    raw = rows_by_region(score_case(pred, ref, (1.0, 1.0, 1.0), default_protocol(
        get_registry().dataset("brats/2020")), "BraTS20_Training_001"))  # what medhub gave before
    assert math.isnan(raw["ET"]["dice"]) and raw["TC"]["hd95"] == math.inf and raw["WT"]["hd95"] == 10.0


# ---------------------------------------------------------------- EMIDEC

SPACING_EMIDEC = (1.25, 1.25, 10.0)  # one voxel: 15.625 mm³


def emidec_case(infarct: bool = True) -> np.ndarray:
    ref = np.zeros((6, 6, 2), np.int64)
    ref[2:4, 2:4, :] = 1  # cavity
    ref[1:5, 1, :] = ref[1:5, 4, :] = 2  # normal myocardium, 16 voxels
    if infarct:
        ref[1:3, 1, :] = 3  # infarction, 4 voxels
        ref[1, 4, 0] = 4  # no-reflow, 1 voxel
    return ref


def test_emidec_relabelled_infarct_keeps_a_perfect_myocardium():
    info = get_registry().dataset("emidec")
    ref = emidec_case()
    pred = np.where(ref >= 3, 2, ref)  # the whole infarct (and no-reflow) predicted as healthy myocardium
    rows = rows_by_region(score_case(pred, ref, SPACING_EMIDEC, protocol_of(info), "Case_P001"))
    assert rows["myocardium"] == {"case": "Case_P001", "label": "myocardium", "dice": 1.0,
                                  "volume_difference": 0.0, "hd": 0.0}
    myocardium_mm3 = 16 * 15.625
    assert rows["infarction"] == {"case": "Case_P001", "label": "infarction", "dice": 0.0,
                                  "volume_difference": 5 * 15.625,
                                  "volume_difference_ratio": pytest.approx(5 * 15.625 / myocardium_mm3)}
    assert rows["no-reflow"]["volume_difference"] == 15.625
    assert rows["no-reflow"]["volume_difference_ratio"] == pytest.approx(1 / 16)
    old = rows_by_region(score_case(pred, ref, SPACING_EMIDEC, default_protocol(info), "Case_P001"))
    assert old[2]["dice"] == pytest.approx(2 * 11 / (11 + 16))  # label 2 alone, as medhub scored before


def test_emidec_hausdorff_uses_each_axis_spacing_where_main_py_swaps_them():
    ref = np.zeros((6, 6, 2), np.int64)
    ref[1:5, 1:5, 0] = 2  # myocardium on the first slice only
    pred = np.roll(ref, 1, axis=2)  # predicted one slice (10 mm) higher
    row = rows_by_region(score_case(pred, ref, SPACING_EMIDEC, protocol_of(get_registry().dataset("emidec")), "P"))
    myo_pred, myo_ref = pred == 2, ref == 2
    # main.py: SimpleITK's (x, y, z) spacing on the (z, y, x) array, i.e. each axis scaled by the reversed spacing
    official = PER_CASE["hd"](myo_pred, myo_ref, SPACING_EMIDEC[::-1])
    assert (row["myocardium"]["hd"], official) == (pytest.approx(10.0), pytest.approx(1.25))


def test_emidec_normal_case_without_infarct_scores_dice_1():
    ref = emidec_case(infarct=False)
    rows = rows_by_region(score_case(ref, ref, SPACING_EMIDEC, protocol_of(get_registry().dataset("emidec")), "N"))
    assert rows["infarction"]["dice"] == 1.0 and rows["no-reflow"]["dice"] == 1.0  # main.py: 0/0 -> 1
    assert rows["infarction"]["volume_difference_ratio"] == 0.0


# ---------------------------------------------------------------- ABCs

def test_abcs_scores_dice_and_surface_dice_at_2mm_with_surface_elements():
    protocol = protocol_of(get_registry().dataset("abcs/task1"))
    assert protocol.surface == "elements" and {r.tolerance for r in protocol.regions} == {2.0}
    ref = np.zeros((16, 12, 12), np.int64)
    ref[2:8, 2:9, 2:9] = 1
    ref[10:14, 3:8, 3:8] = 2
    pred = ref.copy()
    pred[pred == 2] = 0  # structure 2 missed: Dice 0, surface Dice 0
    shifted = np.roll(np.where(ref == 1, 1, 0), 2, axis=0)  # structure 1 moved by 2 mm: every surface within 2 mm
    pred[ref == 1] = 0
    pred[shifted == 1] = 1
    rows = rows_by_region(score_case(pred, ref, (1.0, 1.0, 1.0), protocol, "001"))
    assert rows[1]["nsd"] == 1.0 and rows[1]["dice"] == pytest.approx(2 * 4 / 12)
    assert (rows[2]["dice"], rows[2]["nsd"]) == (0.0, 0.0)
    assert rows[1]["nsd"] > PER_CASE["nsd"](pred == 1, ref == 1, (1, 1, 1), surface="elements", tolerance=1.0)
    agg = aggregate_protocol(list(rows.values()), protocol)
    assert agg["score"] == pytest.approx(((4 / 6 + 0) / 2 + (1 + 0) / 2) / 2)  # mean of Dice and surface Dice


# ---------------------------------------------------------------- CAMUS

def test_camus_scores_the_endocardium_the_epicardium_and_the_atrium():
    protocol = protocol_of(get_registry().dataset("camus"))
    ref = np.zeros((10, 10), np.int64)
    ref[1:7, 1:7] = 2
    ref[2:4, 2:4] = 1  # LV endocardium: 4 pixels
    ref[7:9, 2:5] = 3
    pred = ref.copy()
    pred[2:3, 2:4] = 2  # half of the cavity given to the myocardium
    rows = rows_by_region(score_case(pred, ref, (0.3, 0.3), protocol, "patient0001_2CH_ED"))
    assert rows["LVendo"]["dice"] == pytest.approx(2 * 2 / (4 + 2))
    assert rows["LVepi"] == {"case": "patient0001_2CH_ED", "label": "LVepi", "dice": 1.0, "hd": 0.0, "assd": 0.0}
    assert rows["LA"]["dice"] == 1.0 and rows["LVendo"]["hd"] == pytest.approx(0.3)


# ---------------------------------------------------------------- the Decathlon

def test_decathlon_nsd_is_deepminds_on_deepminds_own_cubes():
    protocol = protocol_of(get_registry().dataset("decathlon/spleen"))
    ref = np.zeros((100, 100, 100), np.int64)
    pred = ref.copy()
    ref[0:50] = 1
    pred[0:51] = 1
    row, = score_case(pred, ref, (2.0, 1.0, 1.0), protocol, "spleen_1")
    # DeepMind surface-distance's test: surface Dice 0.836 at 1 mm, volume Dice 0.990 (voxels would give 0.755)
    assert row["nsd"] == pytest.approx(0.836, abs=5e-4) and row["dice"] == pytest.approx(0.990, abs=5e-4)


# ---------------------------------------------------------------- the rules

def slice_pair():
    ref = np.zeros((4, 4, 2), np.int64)
    ref[0:2, 0:2, 0] = 1  # slice 0: 4 voxels; slice 1: nothing on either side
    pred = ref.copy()
    pred[0:1, 0:2, 0] = 0  # slice 0: 2 of them predicted -> Dice 2*2/6
    return pred, ref


def test_slices_scoring_averages_each_slice_and_applies_the_empty_rules_per_slice():
    pred, ref = slice_pair()
    info = card(labels={"0": "bg", "1": "x"}, metrics=("dice",))
    skip = parse_protocol({"scoring": "slices"}, info)
    row, = score_case(pred, ref, (1.0, 1.0, 5.0), skip, "c")
    assert row["dice"] == pytest.approx(2 / 3)  # the empty slice is NaN and left out
    counted = parse_protocol({"scoring": "slices", "empty": {"dice": {"both_empty": 1}}}, info)
    row, = score_case(pred, ref, (1.0, 1.0, 5.0), counted, "c")
    assert row["dice"] == pytest.approx((2 / 3 + 1) / 2)  # EMIDEC's 2D Dice before August 2020
    whole, = score_case(pred, ref, (1.0, 1.0, 5.0), parse_protocol({}, info), "c")
    assert whole["dice"] == pytest.approx(2 / 3)


def test_nan_rules_skip_count_or_refuse():
    info = card(labels={"0": "bg", "1": "x", "2": "y"}, metrics=("dice",))
    ref = np.zeros((4, 4, 1), np.int64)
    ref[0:2, 0:2] = 1
    rows = score_case(ref, ref, (1, 1, 1), parse_protocol({}, info), "c1")  # label 2 absent: NaN
    assert aggregate_protocol(rows, parse_protocol({}, info))["dice"] == 1.0
    assert math.isnan(aggregate_protocol(rows, parse_protocol({"aggregation": {"nan": "value"}}, info))["dice"])
    with pytest.raises(MedhubError, match='metric "dice" of case "c1", region "2" has a NaN value'):
        aggregate_protocol(rows, parse_protocol({"aggregation": {"nan": "error"}}, info))
    inf_rows = [{"case": "a", "label": 1, "dice": 0.5}, {"case": "b", "label": 1, "dice": math.inf}]
    assert aggregate_protocol(inf_rows, parse_protocol({}, info))["dice"] == math.inf  # an inf enters


def test_relative_to_divides_by_the_regions_reference_volume_and_an_empty_one_gives_inf():
    info = card(labels={"0": "bg", "1": "a", "2": "b"}, metrics=("dice",))
    protocol = parse_protocol({"regions": {"all": [1, 2], "b": [2]}, "metrics": {
        "all": ["dice"], "b": [{"metric": "volume_difference", "name": "ratio", "relative_to": "all"}]}}, info)
    ref = np.zeros((4, 4, 1), np.int64)
    ref[0:2, :] = 1
    pred = ref.copy()
    pred[0, 0] = 2
    rows = rows_by_region(score_case(pred, ref, (1, 1, 2), protocol, "c"))
    assert rows["b"]["ratio"] == pytest.approx(2 / 16)  # 1 voxel of 2 mm³ over 8 voxels of 2 mm³
    rows = rows_by_region(score_case(pred, np.zeros_like(ref), (1, 1, 2), protocol, "c"))
    assert rows["b"]["ratio"] == math.inf


def test_a_ranking_formula_is_the_mean_of_its_terms_and_stored_under_its_name():
    info = card(labels={"0": "bg", "1": "a", "2": "b"}, metrics=("dice",))
    protocol = parse_protocol({"metrics": ["dice", "iou"], "ranking": {"name": "score", "mean": ["dice/1", "iou"]}},
                              info)
    rows = [{"case": "c", "label": 1, "dice": 0.8, "iou": 0.5}, {"case": "c", "label": 2, "dice": 0.4, "iou": 0.3}]
    agg = aggregate_protocol(rows, protocol)
    assert agg["score"] == pytest.approx((0.8 + 0.4) / 2) and agg["iou"] == pytest.approx(0.4)
    single = parse_protocol({"ranking": "dice/2"}, info)
    assert aggregate_protocol(rows, single)["dice/2"] == 0.4  # a region's mean, as a flat aggregate name


def test_overrides_are_listed_and_the_ranking_falls_back_to_a_metric_that_exists():
    protocol = protocol_of(get_registry().dataset("abcs/task1"))
    changed = protocol.customized(metrics=["hd95"], tolerance=3.0, surface="voxels")
    assert changed.overrides == ("metrics", "nsd_tolerance", "surface") and changed.ranking.name == "hd95"
    assert changed.summary() == {"id": "abcs/task1", "version": "1",
                                 "overrides": ["metrics", "nsd_tolerance", "surface"]}
    assert protocol.customized() is protocol and protocol.summary() == {"id": "abcs/task1", "version": "1"}
    labelled = protocol_of(get_registry().dataset("brats/2020")).customized(labels=[4])
    assert [r.label for r in labelled.regions] == [4] and labelled.metric_names() == ["dice", "hd95"]


def test_score_case_names_the_case_for_bad_input():
    protocol = labels_protocol([1], ("dice",))
    with pytest.raises(MedhubError, match='case "x": prediction shape'):
        score_case(np.zeros((3, 3)), np.zeros((3, 4)), (1, 1), protocol, "x")
    with pytest.raises(MedhubError, match='case "x": spacing'):
        score_case(np.zeros((3, 3)), np.zeros((3, 3)), (1, 1, 1), protocol, "x")
    with pytest.raises(MedhubError, match='case "x": protocol "labels" has no regions'):
        score_case(np.zeros((3, 3)), np.zeros((3, 3)), (1, 1), labels_protocol([], ("dice",)), "x")


def test_every_built_in_protocol_reads_and_round_trips_through_json():
    import json

    for info in get_registry().datasets:
        protocol = protocol_of(info)
        assert protocol.id and protocol.version and protocol.source, info.id
        as_json = json.loads(json.dumps(protocol.to_json()))
        if info.protocol:  # the shown form parses back into the same rules
            card_form = {k: v for k, v in as_json.items() if k != "declared"}
            assert parse_protocol(card_form, info).to_json() == protocol.to_json(), info.id
