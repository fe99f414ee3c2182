from __future__ import annotations

import json

import pytest
from medhub.core.cards import card_to_dataset, read_card_file
from medhub.core.errors import MedhubError

CARD = {
    "card": 1, "id": "myorg/tiny-spleen", "title": "Tiny spleen CT", "task": "segmentation", "dims": 3,
    "layout": "decathlon", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"},
    "sources": [{"url": "http://127.0.0.1/Task09.tar", "md5": "a" * 32, "size": 10}],
    "license": "CC-BY-SA 4.0",
}


def test_card_becomes_dataset():
    info = card_to_dataset(CARD)
    assert info.id == "myorg/tiny-spleen"
    assert info.sources[0].filename == "Task09.tar"
    assert info.labels == {"0": "background", "1": "spleen"}


@pytest.mark.parametrize("change, message", [
    ({"card": 2}, "card v1"),
    ({"dims": 4}, "dims"),
    ({"task": "detect"}, "task"),
    ({"sources": [{"url": "http://x/y.tar"}]}, "md5 or a sha256"),
    ({"titel": "x"}, "did you mean title"),
])
def test_bad_cards_name_the_field(change, message):
    with pytest.raises(MedhubError, match=message):
        card_to_dataset({**CARD, **change}, origin="mycard.json")


def test_missing_required_field():
    card = dict(CARD)
    del card["layout"]
    with pytest.raises(MedhubError, match="missing field.*layout"):
        card_to_dataset(card)


def test_yaml_and_json_files(tmp_path):
    import yaml

    (tmp_path / "a.json").write_text(json.dumps(CARD))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(CARD))
    assert read_card_file(tmp_path / "a.json") == read_card_file(tmp_path / "b.yaml")


def test_unparseable_file_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(MedhubError, match="broken.json"):
        read_card_file(path)


def test_a_yaml_error_is_one_line_with_its_position(tmp_path, hub):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 2\nbatch_size: [1\n")
    with pytest.raises(MedhubError) as err:
        read_card_file(path)
    message = str(err.value)
    assert message.startswith(f"dataset card {path}: not valid YAML: line 3, column 1: expected ',' or ']'")
    assert "\n" not in message and "<unicode string>" not in message
    code, out, err_text = hub("run", "--config", path)
    assert code == 1 and out == "" and f"--config {path}: not valid YAML: line 3" in err_text


def test_a_protocol_rides_in_the_card_and_round_trips():
    from medhub.core.cards import dataset_to_card

    protocol = {"id": "myorg/tiny-spleen", "version": "2", "source": "https://example.org/eval",
                "metrics": ["dice", {"metric": "hd95", "options": {"directions": "pooled"}}],
                "empty": {"dice": {"both_empty": 1}}, "ranking": "dice"}
    info = card_to_dataset({**CARD, "protocol": protocol})
    assert info.protocol == protocol
    assert dataset_to_card(info)["protocol"] == protocol and dataset_to_card(info)["protocol"] is not info.protocol
    assert card_to_dataset(dataset_to_card(info)) == info


def test_a_bad_protocol_in_a_card_is_named_and_skipped_at_registration(medhub_home, hub):
    cards = medhub_home / "cards"
    cards.mkdir(parents=True)
    (cards / "bad.json").write_text(json.dumps({**CARD, "protocol": {"regoins": {"x": [1]}}}))
    code, out, err = hub("datasets", "--json")
    assert code == 0 and "myorg/tiny-spleen" not in out
    assert 'bad.json' in err and '"protocol" has unknown key \'regoins\' (did you mean regions?)' in err
    with pytest.raises(MedhubError, match='"protocol" must be a mapping'):
        card_to_dataset({**CARD, "protocol": "brats"})
