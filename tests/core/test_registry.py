from __future__ import annotations

import pytest
from medhub.core.errors import MedhubError, UnknownIdError
from medhub.core.registry import DatasetInfo, ModelInfo, Table


def _ds(id_, plugin="a", aliases=()):
    return DatasetInfo(id=id_, title=id_, task="segmentation", dims=3, layout="decathlon", aliases=aliases, plugin=plugin)


def test_duplicate_id_names_both_plugins():
    table = Table("dataset")
    table.add(_ds("x/one", plugin="first"))
    with pytest.raises(MedhubError) as err:
        table.add(_ds("x/one", plugin="second"))
    assert '"first"' in str(err.value) and '"second"' in str(err.value)


def test_alias_clash_is_a_duplicate_too():
    table = Table("dataset")
    table.add(_ds("x/one", plugin="first", aliases=("Task01",)))
    with pytest.raises(MedhubError, match="first"):
        table.add(_ds("x/two", plugin="second", aliases=("task01",)))


def test_lookup_by_alias_is_case_insensitive():
    table = Table("dataset")
    table.add(_ds("decathlon/spleen", aliases=("Task09_Spleen",)))
    assert table.get("task09_spleen").id == "decathlon/spleen"
    assert table.get("DECATHLON/SPLEEN").id == "decathlon/spleen"


def test_unknown_id_suggests_closest():
    table = Table("dataset")
    for name in ("decathlon/spleen", "decathlon/liver", "camus"):
        table.add(_ds(name))
    with pytest.raises(UnknownIdError) as err:
        table.get("decathlon/spleem")
    assert err.value.suggestions[0] == "decathlon/spleen"
    assert "hub datasets" in str(err.value)


def test_wildcard_listing():
    table = Table("dataset")
    for name in ("decathlon/spleen", "decathlon/liver", "camus"):
        table.add(_ds(name))
    assert [d.id for d in table.match("decathlon/*")] == ["decathlon/liver", "decathlon/spleen"]
    assert len(table.match(None)) == 3


def test_invalid_dataset_fields_are_named():
    bad = _ds("x/y")
    bad.task = "detection"
    with pytest.raises(MedhubError, match="task"):
        bad.validate()


def test_model_build_rejects_unknown_hparam_with_hint():
    model = ModelInfo(id="m", factory=lambda i, o, width=1: (i, o, width), tasks=("segmentation",), dims=(3,),
                      hparams={"width": 4})
    assert model.build(1, 2) == (1, 2, 4)
    assert model.build(1, 2, width=8) == (1, 2, 8)
    with pytest.raises(MedhubError, match="did you mean width"):
        model.build(1, 2, widht=8)


def test_a_metric_entry_computes_through_its_fn():
    from medhub.core.registry import MetricInfo

    calls = []

    def area(pred, ref, spacing, **options):
        calls.append(options)
        return 42.0

    entry = MetricInfo(id="myorg/area", fn=area, task="segmentation", direction="max")
    assert entry.compute(None, None, (1.0,), surface="voxels") == 42.0 and calls == [{"surface": "voxels"}]
    lazy = MetricInfo(id="dice", fn="medhub.core.metrics.segmentation:dice", task="segmentation", direction="max")
    import numpy as np

    mask = np.ones((2, 2), bool)
    assert lazy.compute(mask, mask, (1.0, 1.0)) == 1.0


def _component_entries():
    from medhub.core.registry import LossInfo, OptimizerInfo, ScheduleInfo, TransformInfo

    return [
        (LossInfo(id="My Loss", factory="m:F"), "loss"),
        (LossInfo(id="x/focal", factory="m:F", tasks=()), "non-empty subset"),
        (LossInfo(id="x/focal", factory="m:F", params=[1]), "params"),
        (OptimizerInfo(id="x/lion", factory="m:F", context=("lr", "betas")),
         'optimizer "x/lion": "context" names .*betas.*offered: lr, weight_decay, momentum'),
        (ScheduleInfo(id="x/step", factory=42), "factory"),
        (TransformInfo(id="x/gamma", factory="m:F", random="yes"), '"random" must be true or false'),
    ]


@pytest.mark.parametrize("entry, says", _component_entries())
def test_invalid_component_entries_name_the_field(entry, says):
    with pytest.raises(MedhubError, match=says):
        entry.validate()


def test_component_tables_suggest_the_closest_ids_and_the_listing_command():
    from medhub.core.registry import LossInfo, Registry

    registry = Registry()
    for loss_id in ("dice_ce", "dice", "focal"):
        registry.losses.add(LossInfo(id=loss_id, factory="m:F"))
    with pytest.raises(UnknownIdError) as err:
        registry.losses.get("dice_cee")
    assert err.value.suggestions[:2] == ["dice_ce", "dice"] and "hub plugins --all" in str(err.value)
