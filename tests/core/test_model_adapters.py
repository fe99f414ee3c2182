"""The module adapter (core/model_adapters.py) and count_parameters."""

from __future__ import annotations

import pytest
import torch
from medhub.core.errors import MedhubError
from medhub.core.model_adapters import count_parameters, module_model


class DictNet(torch.nn.Module):
    """A third-party style module with its own argument names and a dict output."""

    def __init__(self, n_in, n_classes, hidden=4):
        super().__init__()
        self.a = torch.nn.Conv2d(n_in, hidden, 3, padding=1)
        self.b = torch.nn.Conv2d(hidden, n_classes, 1)

    def forward(self, x):
        return {"out": self.b(self.a(x)), "aux": x}


def test_module_model_maps_arguments_and_output_key():
    info = module_model("dictnet", DictNet, ("segmentation",), (2,), in_arg="n_in", out_arg="n_classes",
                        output_key="out", hidden=6)
    info.validate()
    assert info.hparams == {"hidden": 6}
    model = info.build(3, 5)
    y = model(torch.randn(2, 3, 8, 8))
    assert y.shape == (2, 5, 8, 8)
    assert model.net.a.out_channels == 6
    assert info.build(3, 5, hidden=2).net.a.out_channels == 2
    with pytest.raises(MedhubError, match="hidden"):
        info.build(3, 5, hiden=2)


def test_module_model_string_target_callable_key_and_input_adapter():
    info = module_model("seq", "torch.nn:Linear", ("regression",), (2,), in_arg="in_features",
                        out_arg="out_features", output_key=lambda out: out * 1)
    assert info.build(4, 1)(torch.randn(3, 4)).shape == (3, 1)
    fixed = module_model("fixed", "torch.nn:Conv2d", ("segmentation",), (2,), in_arg=None, out_arg="out_channels",
                         input_channels=3, in_channels=3, kernel_size=1)
    assert fixed.build(1, 2)(torch.randn(1, 1, 4, 4)).shape == (1, 2, 4, 4)


def test_module_model_rejects_non_json_defaults():
    with pytest.raises(MedhubError, match="JSON"):
        module_model("x", DictNet, ("segmentation",), (2,), hidden=object())


def test_count_parameters():
    m = torch.nn.Linear(3, 2)
    assert count_parameters(m) == 8
    m.bias.requires_grad_(False)
    assert count_parameters(m, trainable_only=True) == 6
