"""Kaggle downloads with a fake ``kaggle`` module (no network): calls, extraction, and every error message."""

from __future__ import annotations

import json
import sys
import types
import zipfile

import pytest

from tests.plugins.datasets.fixtures import make_bone_age, make_panda

RULES = "https://www.kaggle.com/competitions/prostate-cancer-grade-assessment/rules"


class HTTPError(Exception):
    """Shaped like requests' HTTPError (kaggle >= 1.7): the status is on ``.response``."""

    def __init__(self, status: int):
        super().__init__(f"{status} Client Error")
        self.response = types.SimpleNamespace(status_code=status)


class ApiException(Exception):
    """Shaped like kaggle.rest.ApiException (kaggle 1.5 / 1.6): the status is on ``.status``."""

    def __init__(self, status: int):
        super().__init__(f"({status})\nReason: Forbidden")
        self.status = status


def zip_folder(folder, zip_path) -> None:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())


class FakeApi:
    def __init__(self, source=None, error: Exception | None = None):
        self.source, self.error, self.calls = source, error, []

    def _serve(self, name, path):
        if self.error is not None:
            raise self.error
        zip_folder(self.source, f"{path}/{name}.zip")

    def competition_download_files(self, competition, path=None, quiet=True, **kw):
        self.calls.append(("competition", competition, path, kw))
        self._serve(competition, path)

    def dataset_download_files(self, dataset, path=None, unzip=False, quiet=True, **kw):
        self.calls.append(("dataset", dataset, path, {"unzip": unzip, **kw}))
        self._serve(dataset.split("/")[-1], path)


@pytest.fixture
def token(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KAGGLE_CONFIG_DIR", "KAGGLE_API_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0123456789abcdef")


def fake_kaggle(monkeypatch, api: FakeApi) -> FakeApi:
    module = types.ModuleType("kaggle")
    module.api = api
    monkeypatch.setitem(sys.modules, "kaggle", module)
    return api


def test_competition_download_extracts_and_verifies(hub, monkeypatch, tmp_path, token, medhub_home):
    make_panda(tmp_path / "src", n_train=5, test_images=False)
    api = fake_kaggle(monkeypatch, FakeApi(tmp_path / "src"))
    code, out, err = hub("download", "panda", "--quiet")
    assert code == 0, err
    downloads = medhub_home / "datasets" / "panda" / "downloads"
    assert api.calls == [("competition", "prostate-cancer-grade-assessment", str(downloads), {})]
    assert (downloads / "prostate-cancer-grade-assessment.zip").is_file()
    assert len(json.loads(hub("cases", "panda", "--json")[1])) == 5


def test_dataset_download_uses_owner_and_name(hub, monkeypatch, tmp_path, token):
    make_bone_age(tmp_path / "src", n_train=5)
    api = fake_kaggle(monkeypatch, FakeApi(tmp_path / "src"))
    code, _, err = hub("download", "rsna/bone-age", "--quiet")
    assert code == 0, err
    assert api.calls[0][:2] == ("dataset", "kmader/rsna-bone-age") and api.calls[0][3] == {"unzip": False}
    assert len(json.loads(hub("cases", "rsna/bone-age", "--json")[1])) == 5


def test_missing_package_names_the_extra_and_the_manual_route(hub, monkeypatch, token):
    monkeypatch.setitem(sys.modules, "kaggle", None)  # import kaggle -> ImportError
    code, _, err = hub("download", "panda")
    assert code == 1
    assert 'pip install "medhub[kaggle]"' in err
    assert "kaggle competitions download -c prostate-cancer-grade-assessment" in err
    assert "hub download panda --file prostate-cancer-grade-assessment.zip" in err and "hub link panda" in err


def test_missing_token_says_how_to_make_one(hub, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "KAGGLE_API_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    api = fake_kaggle(monkeypatch, FakeApi())
    code, _, err = hub("download", "panda")
    assert code == 1 and api.calls == []
    assert "~/.kaggle/kaggle.json" in err and "KAGGLE_USERNAME" in err and "https://www.kaggle.com/settings" in err
    (tmp_path / "home" / ".kaggle").mkdir(parents=True)
    (tmp_path / "home" / ".kaggle" / "kaggle.json").write_text('{"username": "a", "key": "b"}')
    from medhub.core.acquire.kaggle import has_token

    assert has_token()


@pytest.mark.parametrize("error", [ApiException(403), HTTPError(403)])
def test_403_points_at_the_rules_page(hub, monkeypatch, token, error):
    fake_kaggle(monkeypatch, FakeApi(error=error))
    code, _, err = hub("download", "panda")
    assert code == 1 and RULES in err and "HTTP 403" in err


def test_401_and_other_failures(hub, monkeypatch, token):
    fake_kaggle(monkeypatch, FakeApi(error=HTTPError(401)))
    code, _, err = hub("download", "rsna/ich")
    assert code == 1 and "HTTP 401" in err and "https://www.kaggle.com/settings" in err
    fake_kaggle(monkeypatch, FakeApi(error=ConnectionError("network is unreachable")))
    code, _, err = hub("download", "rsna/ich")
    assert code == 1 and "network is unreachable" in err and "hub download rsna/ich --file" in err


def test_http_status_reads_every_shape():
    from medhub.core.acquire.kaggle import http_status

    assert http_status(ApiException(403)) == 403
    assert http_status(HTTPError(404)) == 404
    assert http_status(RuntimeError("403 - Forbidden")) == 403
    assert http_status(RuntimeError("boom")) is None


def test_a_kaggle_zip_may_not_plant_markers_or_reach_the_downloads_folder(hub, monkeypatch, tmp_path, token,
                                                                         medhub_home):
    make_panda(tmp_path / "src", n_train=5, test_images=False)
    (tmp_path / "src" / "downloads").mkdir()
    (tmp_path / "src" / "downloads" / "prostate-cancer-grade-assessment.zip").write_bytes(b"swapped")
    fake_kaggle(monkeypatch, FakeApi(tmp_path / "src"))
    code, _, err = hub("download", "panda", "--quiet")
    assert code == 1 and 'would be written into "downloads"' in err and "prostate-cancer-grade-assessment.zip" in err
    downloads = medhub_home / "datasets" / "panda" / "downloads"
    assert (downloads / "prostate-cancer-grade-assessment.zip").read_bytes()[:2] == b"PK"  # Kaggle's zip, untouched
    (tmp_path / "src" / "downloads" / "prostate-cancer-grade-assessment.zip").unlink()
    (tmp_path / "src" / "downloads").rmdir()
    (tmp_path / "src" / ".medhub-link.json").write_text(json.dumps({"path": "/etc"}))
    code, _, err = hub("download", "panda", "--quiet")
    assert code == 1 and 'member ".medhub-link.json"' in err and "reserves" in err
    code, _, err = hub("cases", "panda", "--json")
    assert code == 1 and "is not downloaded" in err
