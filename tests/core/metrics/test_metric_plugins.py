"""A third-party metric plugin (a tiny dist-info on ``sys.path``): its registered ``MetricInfo.fn`` is what
``hub evaluate --metrics``, a card's protocol (with options) and the dataset-level scoring compute."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from medhub.core.errors import MedhubError

from tests.core.test_evaluate_command import write
from tests.helpers import make_dist
from tests.plugins.datasets.fixtures import make_decathlon_task

METRICS_PLUGIN = '''
from medhub import MetricInfo, hookimpl


def volume_ratio(pred, ref, spacing, power=1, **options):
    """Predicted over reference volume (to the power ``power``)."""
    return (float(pred.sum()) / float(ref.sum())) ** power if ref.any() else float("nan")


def top_class_share(y_true, y_score, **options):
    """Share of the cases whose argmax is class 0 (a dataset metric)."""
    return float((y_score.argmax(1) == 0).mean())


def words(pred, ref, spacing, **options):
    return "not a number"


@hookimpl
def register_metrics(register):
    register(MetricInfo(id="myorg/volume_ratio", fn="myorg_metrics:volume_ratio", task="segmentation",
                        direction="max", kind="per_case", description="predicted / reference volume"))
    register(MetricInfo(id="myorg/top_class_share", fn=top_class_share, task="classification", direction="max",
                        kind="dataset"))
    register(MetricInfo(id="myorg/words", fn=words, task="segmentation", direction="max"))
'''


@pytest.fixture
def metrics_plugin(tmp_path, monkeypatch):
    """The ``myorg-metrics`` distribution installed on a folder on ``sys.path``, and only it loaded."""
    site = tmp_path / "site"
    make_dist(site, "myorg-metrics", "1.0", {"myorg": "myorg_metrics"}, {"myorg_metrics.py": METRICS_PLUGIN})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "myorg_metrics", raising=False)
    monkeypatch.setenv("MEDHUB_LOAD_PLUGINS", "myorg-metrics")
    return site


def test_a_plugin_metric_works_in_hub_evaluate_metrics(metrics_plugin, tmp_path, hub):
    ref = np.zeros((8, 8, 4), np.uint8)
    ref[1:5, 1:5, :] = 1  # 64 voxels
    pred = ref.copy()
    pred[5, 1:5, :] = 1  # 16 voxels more: ratio 80 / 64
    write(tmp_path / "ref" / "a.nii.gz", ref)
    write(tmp_path / "pred" / "a.nii.gz", pred)
    code, out, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", "--metrics",
                         "dice,myorg/volume_ratio", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["metrics"] == ["dice", "volume_ratio"]
    assert result["per_case"] == [{"case": "a", "label": 1, "dice": pytest.approx(2 * 64 / 144),
                                   "volume_ratio": 1.25}]
    assert result["overall"]["volume_ratio"] == 1.25
    code, _, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", "--metrics", "myorg/words")
    assert code == 1 and 'metric "myorg/words" (plugin "myorg") returned \'not a number\', not a number' in err


def test_a_plugin_metric_works_in_a_cards_protocol_with_its_options(metrics_plugin, tmp_path, hub, medhub_home):
    cards = medhub_home / "cards"
    cards.mkdir(parents=True)
    (cards / "tiny.json").write_text(json.dumps({
        "card": 1, "id": "myorg/tiny", "title": "Tiny", "task": "segmentation", "dims": 3, "layout": "decathlon",
        "labels": {"0": "background", "1": "spleen"}, "protocol": {
            "source": "tests", "metrics": ["dice", {"metric": "myorg/volume_ratio", "name": "ratio2",
                                                   "options": {"power": 2}}],
            "ranking": {"name": "score", "mean": ["dice", "ratio2"]}}}))
    make_decathlon_task(tmp_path / "Task")
    code, _, err = hub("link", "myorg/tiny", tmp_path / "Task")
    assert code == 0, err
    ref_file = tmp_path / "Task" / "labelsTr" / "tiny_0.nii.gz"
    import nibabel as nib

    ref = nib.load(str(ref_file))
    labels = np.asarray(ref.dataobj)
    grown = labels.copy()
    grown[0, 0, 0] = 1  # one voxel more than the reference's 32
    write(tmp_path / "preds" / "tiny_0.nii.gz", grown, affine=ref.affine)
    code, out, err = hub("evaluate", "--dataset", "myorg/tiny", "--pred", tmp_path / "preds", "--split", "all",
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    row, = result["per_case"]
    assert row["ratio2"] == pytest.approx((33 / 32) ** 2) and row["dice"] == pytest.approx(64 / 65)
    assert result["ranking"] == {"name": "score", "value": pytest.approx((64 / 65 + (33 / 32) ** 2) / 2)}
    assert result["protocol"] == {"id": "myorg/tiny", "version": "1"}


def test_a_plugin_dataset_metric_is_computed_by_its_fn(metrics_plugin):
    from medhub.core.metrics import score_predictions

    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    got = score_predictions(["accuracy", "myorg/top_class_share"], np.array([0, 1, 1, 1]), scores)
    assert got == {"accuracy": 0.75, "myorg/top_class_share": 0.5}
    with pytest.raises(MedhubError, match='metric "myorg/volume_ratio" does not apply to these predictions'):
        score_predictions(["myorg/volume_ratio"], np.array([0, 1]), scores[:2])


def test_built_in_metrics_are_computed_by_their_registered_fn_too(monkeypatch):
    from medhub.core.metrics import score_predictions, segmentation_scores
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    seen = []
    monkeypatch.setattr(registry.metric("dice"), "fn", lambda pred, ref, spacing, **options: seen.append(
        sorted(options)) or 0.25)
    monkeypatch.setattr(registry.metric("accuracy"), "fn", lambda y_true, y_score, **options: 0.5)
    ref = np.zeros((4, 4), np.int64)
    ref[:2] = 1
    assert segmentation_scores(ref, ref, [1], (1.0, 1.0), ("dice",)) == [{"label": 1, "dice": 0.25}]
    assert seen == [["cache", "surface", "tolerance"]]
    assert score_predictions(["acc"], np.array([0, 1]), np.eye(2)) == {"accuracy": 0.5}
