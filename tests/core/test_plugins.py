"""The plugin contract: third-party plugins, broken ones, cards, strict mode and selection."""

from __future__ import annotations

import json

import pytest
from medhub.core import plugin_manager
from medhub.core.errors import MedhubError, PluginError

from tests.helpers import install_example_plugin, make_dist, run_hub_process

BROKEN = "raise RuntimeError('this plugin is broken on purpose')\n"
MISSPELLED = (
    "from medhub.core.hookspecs import hookimpl\n"
    "@hookimpl\n"
    "def register_dataset(register):\n"
    "    pass\n"
)
UNKNOWN_LAYOUT_CARD = {"card": 1, "id": "bad/card", "title": "Bad", "task": "segmentation", "dims": 3,
                       "layout": "no-such-layout"}
DUPLICATE = (
    "from medhub.core.hookspecs import hookimpl\n"
    "from medhub.core.registry import ModelInfo\n"
    "@hookimpl\n"
    "def register_models(register):\n"
    "    register(ModelInfo(id='example/tinyconv', factory='x:y', tasks=('segmentation',), dims=(3,)))\n"
)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path standing in for site-packages."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.delenv("MEDHUB_LOAD_PLUGINS")
    return path


def _records(loaded):
    return {r.name: r for r in loaded.records}


def test_builtins_load_cleanly():
    loaded = plugin_manager.load_plugins(report=False)
    assert all(r.error is None for r in loaded.records), [r.error for r in loaded.records if r.error]
    assert all(r.builtin for r in loaded.records)
    assert "decathlon/spleen" in loaded.registry.datasets


def test_example_plugin_is_visible(site):
    install_example_plugin(site)
    loaded = plugin_manager.load_plugins(report=False)
    rec = _records(loaded)["example"]
    assert rec.error is None and not rec.builtin and rec.version == "0.1.0"
    assert rec.datasets == ["example/tiny-spleen"] and rec.models == ["example/tinyconv"]
    assert loaded.registry.model("example/tinyconv").plugin == "example"


def test_example_plugin_model_builds_and_returns_logits(site):
    torch = pytest.importorskip("torch")
    install_example_plugin(site)
    model = plugin_manager.load_plugins(report=False).registry.model("example/tinyconv").build(1, 3)
    assert model(torch.zeros(1, 1, 8, 8, 8)).shape == (1, 3, 8, 8, 8)


def test_broken_misspelled_and_unknown_layout_are_reported_not_fatal(site, capsys):
    make_dist(site, "broken-plugin", "1.0", {"broken": "broken_plugin"}, {"broken_plugin.py": BROKEN})
    make_dist(site, "typo-plugin", "2.0", {"typo": "typo_plugin"}, {"typo_plugin.py": MISSPELLED})
    card_plugin = (
        "from pathlib import Path\nfrom medhub.core.hookspecs import hookimpl\n"
        "@hookimpl\ndef register_datasets(register):\n"
        "    register(Path(__file__).with_name('bad_card.json'))\n"
    )
    make_dist(site, "card-plugin", "3.0", {"cards": "card_plugin"},
              {"card_plugin.py": card_plugin, "bad_card.json": json.dumps(UNKNOWN_LAYOUT_CARD)})
    install_example_plugin(site)
    loaded = plugin_manager.load_plugins(report=True)
    recs = _records(loaded)
    assert "broken on purpose" in recs["broken"].error
    assert 'unknown hook "register_dataset"' in recs["typo"].error and "register_datasets" in recs["typo"].error
    assert 'unknown layout "no-such-layout"' in recs["cards"].error
    assert "bad/card" not in loaded.registry.datasets
    assert recs["example"].error is None
    err = capsys.readouterr().err
    assert 'medhub: plugin "broken" (broken-plugin 1.0) failed to load: RuntimeError' in err
    assert err.count("failed to load") == 3


def test_strict_mode_fails(site, monkeypatch):
    make_dist(site, "broken-plugin", "1.0", {"broken": "broken_plugin"}, {"broken_plugin.py": BROKEN})
    monkeypatch.setenv("MEDHUB_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="broken"):
        plugin_manager.load_plugins(report=False)


def test_load_plugins_env_limits_third_party(site, monkeypatch):
    install_example_plugin(site)
    make_dist(site, "broken-plugin", "1.0", {"broken": "broken_plugin"}, {"broken_plugin.py": BROKEN})
    monkeypatch.setenv("MEDHUB_LOAD_PLUGINS", "medhub-example-plugin")
    names = {r.name for r in plugin_manager.load_plugins(report=False).records}
    assert "example" in names and "broken" not in names
    monkeypatch.setenv("MEDHUB_LOAD_PLUGINS", "")
    loaded = plugin_manager.load_plugins(report=False)
    assert all(r.builtin for r in loaded.records) and len(loaded.registry.datasets) >= 10


def test_duplicate_ids_across_plugins_are_an_error(site):
    install_example_plugin(site)
    make_dist(site, "dupe-plugin", "1.0", {"dupe": "dupe_plugin"}, {"dupe_plugin.py": DUPLICATE})
    with pytest.raises(MedhubError) as err:
        plugin_manager.load_plugins(report=False)
    assert '"example"' in str(err.value) and '"dupe"' in str(err.value)


def test_user_cards_are_registered(medhub_home):
    cards = medhub_home / "cards"
    cards.mkdir(parents=True)
    good = {**UNKNOWN_LAYOUT_CARD, "id": "mine/tiny", "layout": "decathlon"}
    (cards / "tiny.json").write_text(json.dumps(good))
    (cards / "broken.yaml").write_text("card: 1\nid: [unclosed\n")
    loaded = plugin_manager.load_plugins(report=False)
    recs = _records(loaded)
    assert loaded.registry.dataset("mine/tiny").plugin == "cards/tiny.json"
    assert recs["cards/broken.yaml"].error and "broken.yaml" in recs["cards/broken.yaml"].error


def test_cli_lists_example_and_broken_plugins_in_a_subprocess(site):
    install_example_plugin(site)
    make_dist(site, "broken-plugin", "1.0", {"broken": "broken_plugin"}, {"broken_plugin.py": BROKEN})
    env = {"PYTHONPATH": str(site)}
    proc = run_hub_process("plugins", "--json", env={**env, "MEDHUB_LOAD_PLUGINS": "medhub-example-plugin,broken-plugin"})
    assert proc.returncode == 0, proc.stderr
    plugins = {p["name"]: p for p in json.loads(proc.stdout)}
    assert set(plugins["example"]) >= {"name", "version", "builtin", "hooks", "datasets", "models", "error"}
    assert plugins["example"]["models"] == ["example/tinyconv"] and plugins["example"]["error"] is None
    assert "broken on purpose" in plugins["broken"]["error"]
    assert proc.stderr.count("failed to load") == 1
    for command, wanted in (("datasets", "example/tiny-spleen"), ("models", "example/tinyconv")):
        proc = run_hub_process(command, "--json", env={**env, "MEDHUB_LOAD_PLUGINS": "medhub-example-plugin"})
        assert proc.returncode == 0 and wanted in [d["id"] for d in json.loads(proc.stdout)]
    strict = run_hub_process("datasets", env={**env, "MEDHUB_LOAD_PLUGINS": "broken-plugin", "MEDHUB_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1 and "MEDHUB_STRICT_PLUGINS" in strict.stderr
