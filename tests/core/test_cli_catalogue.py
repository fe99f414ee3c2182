"""The catalogue commands: hub datasets / models / info / plugins, --version, -h, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import medhub
from tests.helpers import run_hub_process


def test_version_and_help(hub):
    code, out, _ = hub("--version")
    assert code == 0 and medhub.__version__ in out
    code, out, _ = hub("-h")
    assert code == 0 and "datasets" in out and "models" in out


def test_datasets_json_fields(hub):
    code, out, _ = hub("datasets", "--json")
    assert code == 0
    rows = json.loads(out)
    assert {"id", "title", "task", "dims", "modality", "access", "license", "homepage", "downloaded"} <= set(rows[0])
    assert "decathlon/spleen" in [r["id"] for r in rows]


def test_datasets_pattern(hub):
    code, out, _ = hub("datasets", "decathlon/*", "--json")
    ids = [r["id"] for r in json.loads(out)]
    assert code == 0 and len(ids) == 10 and all(i.startswith("decathlon/") for i in ids)


def test_a_pattern_matching_nothing_says_so_with_the_wildcard_form(hub):
    code, out, err = hub("datasets", "spleen")
    assert code == 0 and "decathlon/spleen" not in out and 'no dataset matches "spleen"' in err and '"*spleen*"' in err
    assert "decathlon/spleen" in hub("datasets", "*spleen*")[1]
    code, out, err = hub("models", "x*", "--json")
    assert code == 0 and json.loads(out) == [] and 'no model matches "x*"' in err and "try" not in err
    assert hub("models", "unet*")[2] == ""                       # a match: no note


def test_info_resolves_alias(hub):
    code, out, _ = hub("info", "Task09_Spleen", "--json")
    card = json.loads(out)
    assert code == 0 and card["id"] == "decathlon/spleen" and card["kind"] == "dataset"
    assert card["sources"][0]["md5"] == "410d4a301da4e5b2f6f86ec3ddba524e"


def test_unknown_id_exit_1_with_suggestions(hub):
    code, out, err = hub("info", "decathlon/spleem")
    assert code == 1 and out == ""
    assert "decathlon/spleen" in err


def test_usage_error_is_exit_2(hub):
    code, _, _ = hub("datasets", "--no-such-flag")
    assert code == 2


def test_catalogue_commands_do_not_import_torch_or_numpy():
    code = (
        "import sys\n"
        "from medhub.core.cli import main\n"
        "for cmd in (['datasets', '--json'], ['models', '--json'], ['plugins', '--all', '--json'], ['plugins', '--all'], ['-h']):\n"
        "    try:\n"
        "        main(cmd)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'SimpleITK', 'pandas', 'nibabel', 'numpy', 'scipy') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_python_dash_m_medhub():
    proc = run_hub_process("--version")
    assert proc.returncode == 0 and "medhub" in proc.stdout


def test_plugins_all_lists_each_metric_with_its_direction(hub):
    code, out, _ = hub("plugins", "--all")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "max (higher is better)" in rows["dice"] and "segmentation" in rows["dice"]
    assert "min (lower is better)" in rows["hd95"] and "min (lower is better)" in rows["mae"]
    assert rows["metrics"].split()[:6] == ["metrics", rows["metrics"].split()[1], "yes", "0", "0", "14"]
    code, out, _ = hub("plugins", "--all", "--json")
    plugin = {p["name"]: p for p in json.loads(out)}["metrics"]
    assert plugin["metric_directions"]["dice"] == "max" and plugin["metric_directions"]["hd95"] == "min"
    assert set(plugin["metric_directions"]) == set(plugin["metrics"])
    code, out, _ = hub("plugins")  # built-ins hidden: no metric rows either
    assert code == 0 and "higher is better" not in out
