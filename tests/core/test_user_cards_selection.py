"""``MEDHUB_LOAD_PLUGINS=""`` (no third-party code) still reads the user's own cards in ``$MEDHUB_HOME/cards/``:
they are data, checked field by field, and run nothing. The README says so, and a broken card says how to stop
its use."""

from __future__ import annotations

import json
import re

from tests.core.test_cards import CARD
from tests.helpers import REPO


def test_no_third_party_plugins_still_reads_the_users_cards(medhub_home, hub, monkeypatch):
    monkeypatch.setenv("MEDHUB_LOAD_PLUGINS", "")
    cards = medhub_home / "cards"
    cards.mkdir(parents=True)
    (cards / "tiny.json").write_text(json.dumps(CARD))
    code, out, err = hub("datasets", "--json")
    assert code == 0 and "myorg/tiny-spleen" in out, err


def test_a_broken_card_says_it_is_read_whatever_the_plugin_selection(medhub_home, hub, monkeypatch):
    monkeypatch.setenv("MEDHUB_LOAD_PLUGINS", "")
    cards = medhub_home / "cards"
    cards.mkdir(parents=True)
    (cards / "broken.json").write_text(json.dumps({**CARD, "card": 2}))
    code, out, err = hub("datasets", "--json")
    assert code == 0 and "myorg/tiny-spleen" not in out
    assert "broken.json" in err and f"move it out of {cards}" in err, err
    assert "read whatever MEDHUB_LOAD_PLUGINS selects" in err, err


def test_the_readme_says_an_empty_plugin_selection_still_loads_cards():
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    (sentence,) = re.findall(r"`MEDHUB_LOAD_PLUGINS=a,b`[^.]*\.", readme)
    assert '`""`: no third-party code' in sentence and "`$MEDHUB_HOME/cards/`" in sentence, sentence
    assert "still load" in sentence and "built-ins only" not in sentence, sentence
