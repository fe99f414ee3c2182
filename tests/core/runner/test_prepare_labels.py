"""The runner's preparation refuses a label map holding values the card does not declare, naming its file."""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pytest

from tests.generated import link, tiny_seg_config


def test_the_runner_refuses_a_bad_label_naming_its_file_instead_of_an_index_error(generated, medhub_home, tmp_path):
    from medhub.core.errors import MedhubError
    from medhub.core.runner import driver

    copy = tmp_path / "spheres"
    shutil.copytree(generated / "spheres", copy)
    bad = sorted((copy / "labelsTr").glob("*.nii.gz"))[3]
    image = nib.load(str(bad))
    data = np.asarray(image.dataobj).copy()
    data[data == 2] = 9
    nib.save(nib.Nifti1Image(data, image.affine), bad)
    link("synthetic/spheres", copy)  # what the tests' link does: layout only, as an older hub link did
    with pytest.raises(MedhubError) as caught:
        driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False, tensorboard=False), quiet=True)
    message = str(caught.value)
    assert f"its label file {bad.resolve()} holds value(s) 9" in message and "1 (ellipsoid-a)" in message, message
    assert "hub verify synthetic/spheres" in message and "\n" not in message
    assert list((medhub_home / "runs").iterdir()) == []
