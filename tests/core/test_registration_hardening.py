"""Registration refuses what could escape medhub's folders or break other commands: bad ids, bad file names,
mistyped card fields, plugins that print, exit or raise BaseException. Each is skipped and reported, the rest works."""

from __future__ import annotations

import json

import pytest
from medhub.core import plugin_manager
from medhub.core.errors import MedhubError, PluginError
from medhub.core.registry import (
    DatasetInfo,
    DuplicateIdError,
    LayoutInfo,
    MetricInfo,
    ModelInfo,
    Source,
    Table,
)

from tests.core.test_plugins import site  # noqa: F401 - the fake site-packages fixture
from tests.helpers import make_dist, run_hub_process

MD5 = "0" * 32
GOOD_CARD = {"card": 1, "id": "mine/good", "title": "Good", "task": "segmentation", "dims": 3, "layout": "decathlon",
             "modality": {"0": "CT"}, "labels": {"0": "background", "1": "organ"},
             "sources": [{"url": "http://127.0.0.1:9/Task99_Good.tar", "md5": MD5, "size": 10}]}


def write_cards(home, **cards):
    """Write ``name=card`` pairs into ``$MEDHUB_HOME/cards/`` (JSON)."""
    folder = home / "cards"
    folder.mkdir(parents=True, exist_ok=True)
    for name, card in cards.items():
        (folder / f"{name}.json").write_text(json.dumps(card))


def snapshot(root):
    """Every path below ``root`` with the bytes of each file (None for folders)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def plugins_json(hub):
    code, out, err = hub("plugins", "--json")
    assert code == 0, err
    return {p["name"]: p for p in json.loads(out)}


def dataset_ids(hub):
    code, out, err = hub("datasets", "--json")
    assert code == 0, err
    return [d["id"] for d in json.loads(out)]


# ------------------------------------------------------------------ item 1: ids at registration
@pytest.mark.parametrize("bad_id", ["../../victim", "..", "a/../b", "/abs", "Upper/case", "x/", "a" * 65])
def test_a_card_with_a_bad_id_is_skipped_and_named(hub, medhub_home, bad_id):
    write_cards(medhub_home, bad={**GOOD_CARD, "id": bad_id}, good=GOOD_CARD)
    ids = dataset_ids(hub)
    assert bad_id not in ids and "mine/good" in ids and "decathlon/spleen" in ids
    error = plugins_json(hub)["cards/bad.json"]["error"]
    assert "bad.json" in error and f'dataset id "{bad_id}" is not valid' in error


@pytest.mark.parametrize("victim_id, victim", [("../../victim", "victim"), ("..", "medhub-home")])
def test_download_of_a_traversal_id_fails_and_changes_nothing(hub, medhub_home, tmp_path, victim_id, victim):
    write_cards(medhub_home, bad={**GOOD_CARD, "id": victim_id})
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "precious.txt").write_text("keep me")
    (medhub_home / "leaderboard.sqlite").write_bytes(b"sentinel")  # id ".." once deleted this and cards/
    (medhub_home / "datasets" / "other").mkdir(parents=True)
    before = snapshot(tmp_path)
    code, out, err = hub("download", victim_id)
    assert code == 1 and out == "" and f'unknown dataset "{victim_id}"' in err and "Traceback" not in err
    assert snapshot(tmp_path) == before and (tmp_path / victim).is_dir()


def bad_id_plugin(kind: str) -> str:
    """A plugin module registering one entry of ``kind`` whose id (or alias) is ``../../victim``."""
    entries = {
        "datasets": "DatasetInfo(id='../../victim', title='V', task='segmentation', dims=3, layout='decathlon')",
        "aliases": "DatasetInfo(id='fine/id', title='V', task='segmentation', dims=3, layout='decathlon', "
                   "aliases=('../../victim',))",
        "models": "ModelInfo(id='../../victim', factory='x:y', tasks=('segmentation',), dims=(3,))",
        "layouts": "LayoutInfo(id='../../victim', parse='x:y')",
        "metrics": "MetricInfo(id='../../victim', fn='x:y', task='segmentation', direction='max')",
    }
    hook = "datasets" if kind == "aliases" else kind
    return ("from medhub.core.hookspecs import hookimpl\n"
            "from medhub.core.registry import DatasetInfo, LayoutInfo, MetricInfo, ModelInfo\n"
            f"@hookimpl\ndef register_{hook}(register):\n    register({entries[kind]})\n")


@pytest.mark.parametrize("kind", ["datasets", "aliases", "models", "layouts", "metrics"])
def test_a_plugin_registering_a_bad_id_is_reported_like_a_broken_plugin(site, kind, hub):  # noqa: F811
    module = f"badid_{kind}"
    make_dist(site, f"badid-{kind}", "1.0", {module: module}, {f"{module}.py": bad_id_plugin(kind)})
    loaded = plugin_manager.load_plugins(report=False)
    rec = next(r for r in loaded.records if r.name == module)
    assert "../../victim" in rec.error and "is not valid" in rec.error
    table = getattr(loaded.registry, "datasets" if kind == "aliases" else kind)
    assert "../../victim" not in table and "fine/id" not in table
    assert "decathlon/spleen" in loaded.registry.datasets
    code, out, err = hub("plugins", "--json")
    shown = {p["name"]: p for p in json.loads(out)}[module]
    assert code == 0 and "../../victim" in shown["error"] and shown["datasets"] == shown["models"] == []
    assert f'medhub: plugin "{module}" (badid-{kind} 1.0) failed to load: ' in err and "../../victim" in err


def test_strict_mode_fails_on_a_bad_id(hub, medhub_home, monkeypatch):
    write_cards(medhub_home, bad={**GOOD_CARD, "id": "../../victim"})
    monkeypatch.setenv("MEDHUB_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=r'MEDHUB_STRICT_PLUGINS=1.*bad\.json.*"\.\./\.\./victim" is not valid'):
        plugin_manager.load_plugins(report=False)
    code, _, err = hub("datasets")
    assert code == 1 and "bad.json" in err and "../../victim" in err


@pytest.mark.parametrize("make", [
    lambda: LayoutInfo(id="..", parse="x:y"),
    lambda: MetricInfo(id="a b", fn="x:y", task="segmentation", direction="max"),
    lambda: ModelInfo(id="../m", factory="x:y", tasks=("segmentation",), dims=(3,)),
    lambda: DatasetInfo(id="x/../y", title="t", task="segmentation", dims=3, layout="decathlon"),
])
def test_every_kind_refuses_a_bad_id_in_validate(make):
    with pytest.raises(MedhubError, match="id .* is not valid"):
        make().validate()


def test_a_metric_and_a_layout_validate_their_fields():
    with pytest.raises(MedhubError, match='metric "m": "direction" must be one of max, min'):
        MetricInfo(id="m", fn="x:y", task="segmentation", direction="up").validate()
    with pytest.raises(MedhubError, match='metric "m": "kind" must be one of per_case, dataset'):
        MetricInfo(id="m", fn="x:y", task="segmentation", direction="max", kind="voxel").validate()
    with pytest.raises(MedhubError, match='layout "l": "parse" must be a callable'):
        LayoutInfo(id="l", parse=42).validate()


# ------------------------------------------------------------------ items 2 and 9: every card field type-checked
BAD_CARDS = [
    ({"labels": [1, 2]}, '"labels" must be a mapping'),
    ({"labels": {"one": "background"}}, '"labels" key'),
    ({"labels": {"0": 7}}, '"labels.0" must be a string'),
    ({"modality": "CT"}, '"modality" must be a mapping'),
    ({"modality": {"0": ["CT"]}}, '"modality.0" must be a string'),
    ({"aliases": "Task99"}, '"aliases" must be a list of strings'),
    ({"aliases": ["../up"]}, 'alias "../up" is not valid'),
    ({"metrics": [1]}, '"metrics" must be a list of strings'),
    ({"dims": True}, '"dims" must be 2 or 3'),
    ({"dims": "2.5"}, '"dims" must be 2 or 3'),
    ({"dims": 2.0}, '"dims" must be 2 or 3'),
    ({"dims": "3"}, '"dims" must be 2 or 3'),
    ({"card": True}, '"card" must be 1'),
    ({"card": "1"}, '"card" must be 1'),
    ({"title": ["T"]}, '"title" must be a string'),
    ({"id": 5}, "dataset id 5 is not valid"),
    ({"layout": {"x": 1}}, '"layout" must be a string'),
    ({"license": 4}, '"license" must be a string'),
    ({"version": 2}, '"version" must be a string'),
    ({"task": ["segmentation"]}, '"task" must be one of'),
    ({"access": "public"}, '"access" must be one of'),
    ({"ranking_direction": "up"}, '"ranking_direction" must be one of max, min'),
    ({"preprocessing": [1]}, '"preprocessing" must be a mapping'),
    ({"layout_options": "csv"}, '"layout_options" must be a mapping'),
    ({"sources": {"url": "http://x/y"}}, '"sources" must be a list'),
    ({"sources": ["http://x/y.tar"]}, "sources[0] must be a mapping with a url"),
    ({"sources": [{"url": 5, "md5": MD5}]}, 'sources[0]: "url" must be a string'),
    ({"sources": [{"url": "file:///etc/passwd", "md5": MD5}]}, 'sources[0]: "url" must be an http:// or https:// URL'),
    ({"sources": [{"url": "ftp://h/x.tar", "md5": MD5}]}, 'sources[0]: "url" must be an http:// or https:// URL'),
    ({"sources": [{"url": "http:///x.tar", "md5": MD5}]}, 'sources[0]: "url" must be an http:// or https:// URL'),
    ({"sources": [{"url": "http://h/x.tar", "md5": "abc"}]}, 'sources[0]: "md5" must be 32 hex digits'),
    ({"sources": [{"url": "http://h/x.tar", "sha256": "g" * 64}]}, 'sources[0]: "sha256" must be 64 hex digits'),
    ({"sources": [{"url": "http://h/x.tar", "md5": MD5, "size": -1}]}, 'sources[0]: "size" must be a number of bytes'),
    ({"sources": [{"url": "http://h/x.tar", "md5": MD5, "size": "10"}]}, 'sources[0]: "size" must be a number'),
    ({"sources": [{"url": "http://h/x.tar", "md5": MD5, "size": True}]}, 'sources[0]: "size" must be a number'),
    ({"sources": [{"url": "http://h/x.tar", "md5": MD5, "extract": "yes"}]}, 'sources[0]: "extract" must be true or'),
    ({"sources": [{"url": "http://h/x.tar", "md5": MD5, "mirror": "x"}]}, "sources[0] has unknown field(s) mirror"),
    ({"sources": [{"url": "http://h/x.tar"}]}, "needs an md5 or a sha256"),
    # item 2: a file name is a bare name, given or taken from the URL
    ({"sources": [{"url": "http://h/x.tar", "filename": "../../outside.tar", "md5": MD5}]},
     'sources[0]: "filename": "../../outside.tar" is not a bare file name'),
    ({"sources": [{"url": "http://h/x.tar", "filename": "..", "md5": MD5}]}, '"filename": ".." is not a bare file name'),
    ({"sources": [{"url": "http://h/x.tar", "filename": 3, "md5": MD5}]}, '"filename": 3 is not a bare file name'),
    ({"sources": [{"url": "http://h/a/..", "md5": MD5}]}, 'the file name the url ends with (give "filename")'),
    ({"sources": [{"url": "http://h/a/%2e%2e", "md5": MD5}]}, '".." is not a bare file name'),
    ({"sources": [{"url": "http://h/a/..%2F..%2Fx.tar", "md5": MD5}]}, '"../../x.tar" is not a bare file name'),
    ({"sources": [{"url": "http://h/", "md5": MD5}]}, 'the file name the url ends with (give "filename")'),
]


@pytest.mark.parametrize("change, field", BAD_CARDS, ids=[str(i) for i in range(len(BAD_CARDS))])
def test_a_bad_card_is_skipped_reported_once_and_breaks_nothing_else(hub, medhub_home, change, field):
    write_cards(medhub_home, bad={**GOOD_CARD, "id": "mine/bad", **change}, good=GOOD_CARD)
    code, out, err = hub("datasets", "--json")
    ids = [d["id"] for d in json.loads(out)]
    assert code == 0 and "mine/bad" not in ids and "mine/good" in ids and "decathlon/spleen" in ids
    assert err.count("failed to load") == 1 and "Traceback" not in err
    error = plugins_json(hub)["cards/bad.json"]["error"]
    assert error.startswith(f"dataset card {medhub_home / 'cards' / 'bad.json'}: ") and field in error, error
    assert "\n" not in error
    code, out, err = hub("info", "decathlon/spleen", "--json")
    assert code == 0 and json.loads(out)["id"] == "decathlon/spleen"


def test_yaml_integer_label_keys_are_read_as_digit_strings(hub, medhub_home):
    folder = medhub_home / "cards"
    folder.mkdir(parents=True)
    (folder / "y.yaml").write_text("card: 1\nid: mine/yaml\ntitle: Y\ntask: segmentation\ndims: 2\n"
                                   "layout: decathlon\nmodality: {0: CT}\nlabels: {0: background, 1: organ}\n")
    code, out, err = hub("info", "mine/yaml", "--json")
    assert code == 0, err
    card = json.loads(out)
    assert card["labels"] == {"0": "background", "1": "organ"} and card["modality"] == {"0": "CT"}


def test_the_file_name_taken_from_a_url_drops_the_query():
    from medhub.core.cards import card_to_dataset

    card = {**GOOD_CARD, "sources": [{"url": "https://h/files/Task99.tar?download=1", "md5": MD5}]}
    assert card_to_dataset(card).sources[0].filename == "Task99.tar"


@pytest.mark.parametrize("change, field", [
    ({"labels": [1, 2]}, '"labels" must be a mapping'),
    ({"dims": "3"}, '"dims" must be 2 or 3'),
    ({"aliases": "T"}, '"aliases" must be a list of strings'),
    ({"sources": (Source(url="file:///etc/passwd", filename="passwd", md5=MD5),)}, '"url" must be an http'),
    ({"sources": (Source(url="http://h/x", filename="../x", md5=MD5),)}, '"filename": "../x" is not a bare file'),
    ({"sources": ({"url": "http://h/x"},)}, "sources[0] must be a Source"),
    ({"generator": 3}, '"generator" must be a callable'),
])
def test_python_plugins_get_the_same_field_checks(change, field):
    info = DatasetInfo(**{"id": "x/y", "title": "t", "task": "segmentation", "dims": 3, "layout": "decathlon", **change})
    with pytest.raises(MedhubError) as err:
        info.validate()
    assert str(err.value).startswith('dataset "x/y": ') and field in str(err.value)


# ------------------------------------------------------------------ item 8: plugins cannot break the CLI
PRINTS = (
    "print('hello from plugin import')\n"
    "from medhub.core.hookspecs import hookimpl\n"
    "@hookimpl\ndef register_models(register):\n    print('hello from plugin hook')\n"
)
EXITS_AT_IMPORT = "import sys\nsys.exit(3)\n"
EXITS_IN_HOOK = ("import sys\nfrom medhub.core.hookspecs import hookimpl\n"
                 "@hookimpl\ndef register_datasets(register):\n    sys.exit('bye')\n")


def test_a_printing_plugin_does_not_corrupt_json_stdout(site):  # noqa: F811
    make_dist(site, "chatty-plugin", "1.0", {"chatty": "chatty_plugin"}, {"chatty_plugin.py": PRINTS})
    env = {"PYTHONPATH": str(site), "MEDHUB_LOAD_PLUGINS": "chatty-plugin"}
    for command in ("datasets", "plugins"):
        proc = run_hub_process(command, "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        json.loads(proc.stdout)  # stdout is the command's JSON and nothing else
        assert "hello from plugin import" in proc.stderr and "hello from plugin hook" in proc.stderr
    assert json.loads(proc.stdout)[0]["name"] == "chatty" and json.loads(proc.stdout)[0]["error"] is None


def test_a_plugin_calling_sys_exit_is_reported_and_hub_goes_on(site):  # noqa: F811
    make_dist(site, "exit-import", "1.0", {"exit_import": "exit_import"}, {"exit_import.py": EXITS_AT_IMPORT})
    make_dist(site, "exit-hook", "1.0", {"exit_hook": "exit_hook"}, {"exit_hook.py": EXITS_IN_HOOK})
    env = {"PYTHONPATH": str(site), "MEDHUB_LOAD_PLUGINS": "exit-import,exit-hook"}
    proc = run_hub_process("datasets", env=env)
    assert proc.returncode == 0 and "decathlon/spleen" in proc.stdout, proc.stderr
    assert proc.stderr.count("failed to load") == 2
    proc = run_hub_process("plugins", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    errors = {p["name"]: p["error"] for p in json.loads(proc.stdout)}
    assert errors["exit_import"].startswith("SystemExit(3): the plugin called sys.exit()")
    assert errors["exit_hook"].startswith("register_datasets raised SystemExit('bye')")


def test_generator_exit_is_reported_and_keyboard_interrupt_still_stops(site):  # noqa: F811
    raises = ("from medhub.core.hookspecs import hookimpl\n"
              "@hookimpl\ndef register_models(register):\n    raise {}\n")
    make_dist(site, "gen-exit", "1.0", {"gen_exit": "gen_exit"}, {"gen_exit.py": raises.format("GeneratorExit('x')")})
    loaded = plugin_manager.load_plugins(report=False)
    assert next(r for r in loaded.records if r.name == "gen_exit").error == "register_models raised GeneratorExit: x"
    make_dist(site, "ctrl-c", "1.0", {"ctrl_c": "ctrl_c"}, {"ctrl_c.py": raises.format("KeyboardInterrupt")})
    with pytest.raises(KeyboardInterrupt):
        plugin_manager.load_plugins(report=False)


def test_a_duplicate_is_an_error_by_type_not_by_message(site):  # noqa: F811
    table = Table("model")
    table.add(ModelInfo(id="m", factory="x:y", tasks=("segmentation",), dims=(3,), plugin="a"))
    with pytest.raises(DuplicateIdError, match='duplicate model id "m".*"a".*"b"'):
        table.add(ModelInfo(id="m", factory="x:y", tasks=("segmentation",), dims=(3,), plugin="b"))
    says_duplicate = ("from medhub.core.errors import MedhubError\nfrom medhub.core.hookspecs import hookimpl\n"
                      "@hookimpl\ndef register_datasets(register):\n"
                      "    raise MedhubError('duplicate case ids in my index')\n")
    make_dist(site, "dup-text", "1.0", {"dup_text": "dup_text"}, {"dup_text.py": says_duplicate})
    loaded = plugin_manager.load_plugins(report=False)  # a plugin's own error is reported, not fatal
    assert next(r for r in loaded.records if r.name == "dup_text").error == "duplicate case ids in my index"
