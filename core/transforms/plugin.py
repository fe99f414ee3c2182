"""Built-in medhub plugin registering the transforms of ``medhub.core.transforms`` (metadata only: the factories
are ``"module:attribute"`` strings, imported when a run builds its pipeline). A run's default ``transforms`` are
``preprocess`` (training: then ``patch`` for segmentation and the augmentations): see
:func:`medhub.core.components.default_transforms`."""

from __future__ import annotations

from medhub.core.hookspecs import hookimpl
from medhub.core.registry import TransformInfo

PACKAGE = "medhub.core.transforms"

# id, "module:attribute" under the package, context, random, default params, description
BUILTIN_TRANSFORMS = (
    ("preprocess", "builtin:preprocess", ("config", "dims", "task", "keys"), False, {},
     "the run's deterministic pipeline from its preprocessing options (load ... normalize ... to arrays)"),
    ("load", "convert:LoadImage", ("keys", "dims"), False, {}, "read the files into images with their geometry"),
    ("orient", "spatial:Reorient", ("keys",), False, {"axcodes": "RAS"}, "reorient the voxel axes (3D)"),
    ("resample", "builtin:resample", ("config", "keys"), False, {"spacing": None},
     "resample to spacing mm (default: target_spacing); labels nearest-neighbour"),
    ("channels", "colour:MatchChannels", (), False, {}, "convert pictures to 1 (grey) or 3 (RGB) channels"),
    ("resize", "spatial:Resize", (), False, {}, "resample images to a size per axis"),
    ("ct_window", "intensity:CTWindow", (), False, {"low": -1000, "high": 1000},
     "clip to a Hounsfield window and scale to [0, 1]"),
    ("zscore", "intensity:ZScore", (), False, {"nonzero": False}, "subtract the mean, divide by the std"),
    ("percentile_clip", "intensity:PercentileClip", (), False, {"lower": 0.5, "upper": 99.5},
     "clip each channel to its percentiles"),
    ("crop_foreground", "spatial:CropForeground", (), False, {"margin": 0}, "crop to the non-zero bounding box"),
    ("pad_or_crop", "spatial:PadOrCrop", (), False, {}, "centre-pad or crop to a size per axis"),
    ("to_arrays", "convert:ToArrays", ("keys",), False, {}, "images to float32 arrays, labels to integer arrays"),
    ("patch", "builtin:patch", ("patch_size", "config"), True, {"size": None, "fg_fraction": None},
     "a random patch, a share forced to hold foreground (nnU-Net's oversampling)"),
    ("flip", "builtin:flip", ("dims",), True, {"p": 0.5}, "flip each spatial axis with probability p"),
    ("intensity", "augment:RandIntensity", (), True, {"p": 0.15, "scale": 0.1, "shift": 0.1},
     "per channel x * (1 + U(-scale, scale)) + U(-shift, shift) with probability p"),
    ("rot90", "augment:RandRot90", (), True, {"p": 0.5}, "rotate by a multiple of 90 degrees in a plane"),
    ("affine", "augment:RandAffine", (), True, {"p": 0.2, "rotate_deg": 15.0, "scale": 0.1},
     "random rotation and zoom about the centre"),
    ("noise", "augment:RandNoise", (), True, {"p": 0.15, "std": 0.1}, "additive Gaussian noise on images"),
)


@hookimpl
def register_transforms(register):
    for transform_id, ref, context, random, params, description in BUILTIN_TRANSFORMS:
        register(TransformInfo(id=transform_id, factory=f"{PACKAGE}.{ref}", context=context, random=random,
                               params=dict(params), description=description))
