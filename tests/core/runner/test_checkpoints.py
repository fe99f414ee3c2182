"""Damaged checkpoints, a full disk while writing one and a read-only runs folder: one-line errors, nothing lost."""

from __future__ import annotations

import errno
import io
import json
import pickle
import re
import tempfile
from pathlib import Path

import pytest

from tests.generated import TINY_UNET3D, tiny_seg_config

TINY_FLAGS = ("--epochs", "2", "--steps-per-epoch", "1", "--batch-size", "1", "--patch-size", "16", "16", "16",
              "--set", f"model_hparams={json.dumps(TINY_UNET3D)}", "--set", "sw_overlap=0", "--set", "onnx=false",
              "--set", "tensorboard=false", "--quiet")


def torch_bytes(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def damaged_versions(real: bytes) -> dict[str, bytes]:
    """Files a ``*.pt`` path may hold instead of a checkpoint medhub wrote."""
    import torch

    blob = torch.load(io.BytesIO(real), map_location="cpu", weights_only=True)
    return {
        "empty": b"",
        "truncated": real[: len(real) // 2],
        "text": b"not a checkpoint\n",
        "code": pickle.dumps(print),  # refused by weights_only: objects other than tensors
        "a list": torch_bytes([1, 2, 3]),
        "missing keys": torch_bytes({"weights": torch.zeros(2)}),
        "another model": torch_bytes({**blob, "model": {"conv.weight": torch.zeros(1)}}),
    }


def without_announcement(err: str) -> str:
    """stderr less its first line, which must be what ``hub run`` says once training starts: the run's id, its
    folder and how to resume it."""
    first, _, rest = err.partition("\n")
    assert re.fullmatch(r"run (\S+): training in \S+; if it stops \(Ctrl-C\), hub run --resume \1 continues it",
                        first), err
    return rest


@pytest.fixture
def half_run(spheres, medhub_home):
    """A run stopped after its first of two epochs: checkpoints/best.pt and checkpoints/last.pt, no record."""
    from medhub.core.runner import driver

    config = tiny_seg_config(epochs=2, patch_size=[16, 16, 16], onnx=False, tensorboard=False)
    assert driver.run(config, quiet=True, run_id="half", stop_after_epochs=1) is None
    return medhub_home / "runs" / "half"


@pytest.mark.parametrize("args, name", [(("run", "--resume", "half"), "last.pt"), (("predict", "half"), "best.pt")])
def test_a_damaged_checkpoint_is_a_one_line_error_naming_it(half_run, hub, args, name):
    path = half_run / "checkpoints" / name
    for kind, data in damaged_versions(path.read_bytes()).items():
        path.write_bytes(data)
        code, out, err = hub(*args, "--quiet")
        assert code == 1 and out == "", (kind, err)
        assert err.startswith(f"hub {args[0]}: error: {path}: ") and len(err.strip().splitlines()) == 1, (kind, err)
        assert f"hub run --config {half_run / 'config.json'}" in err, (kind, err)
        assert "Traceback" not in err
    assert not (half_run / "predictions").exists() and not (half_run / "result.json").exists()


@pytest.fixture
def failing_save(monkeypatch):
    """``torch.save`` that fails like a full disk once ``fail(path)`` says so, after writing a few bytes."""
    import torch

    real = torch.save
    state = {"fail": lambda path: False, "error": OSError(errno.ENOSPC, "No space left on device")}

    def save(obj, f, *args, **kwargs):
        if isinstance(f, (str, Path)) and state["fail"](Path(f)):
            Path(f).write_bytes(b"partial")
            raise state["error"]
        return real(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    return state


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 448 vs 0"),
                                   OSError(errno.EROFS, "Read-only file system")])
def test_a_failed_checkpoint_write_keeps_the_previous_one_and_says_how_to_go_on(spheres, hub, medhub_home,
                                                                                failing_save, error):
    import torch

    runs = medhub_home / "runs"
    failing_save["error"] = error
    failing_save["fail"] = lambda path: path.name == "last.tmp" and (path.parent / "last.pt").is_file()
    code, out, err = hub("run", *TINY_FLAGS)
    (folder,) = runs.iterdir()
    last = folder / "checkpoints" / "last.pt"
    err = without_announcement(err)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, err
    assert f"cannot write checkpoint {last}" in err and f"{last} is kept as it was" in err, err
    assert f"hub run --resume {folder.name}" in err, err
    assert not list(folder.rglob("*.tmp"))
    assert torch.load(last, map_location="cpu", weights_only=True)["state"]["epoch"] == 1  # intact, epoch 1's

    failing_save["fail"] = lambda path: False  # space freed: the run continues from the kept checkpoint
    code, out, err = hub("run", "--resume", folder.name, "--quiet")
    assert code == 0, err
    assert json.loads((folder / "result.json").read_text())["history"][-1]["epoch"] == 2


def test_a_failed_first_checkpoint_write_leaves_no_run_folder(spheres, hub, medhub_home, failing_save):
    failing_save["fail"] = lambda path: True
    code, _, err = hub("run", *TINY_FLAGS)
    err = without_announcement(err)
    assert code == 1 and "No space left on device" in err and "nothing of the run is kept" in err, err
    assert len(err.strip().splitlines()) == 1
    assert list((medhub_home / "runs").iterdir()) == []


def read_only_mkdir(monkeypatch, under: Path) -> None:
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if str(self).startswith(str(under)):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def read_only_writes(monkeypatch, under: Path) -> None:
    from medhub.core.runner import driver

    def write(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(driver, "write_json_atomic", write)


def read_only_temp_files(monkeypatch, under: Path) -> None:
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(dir).startswith(str(under)):
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize("read_only", [read_only_mkdir, read_only_writes, read_only_temp_files])
def test_a_read_only_runs_folder_is_a_one_line_error_and_leaves_no_run_folder(hub, medhub_home, monkeypatch,
                                                                              read_only):
    runs = medhub_home / "runs"
    runs.mkdir(parents=True)
    read_only(monkeypatch, runs)
    code, out, err = hub("run", *TINY_FLAGS)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "Read-only file system" in err and str(runs) in err and "Traceback" not in err, err
    assert list(runs.iterdir()) == []
