"""A sample medhub plugin: a dataset declared as a card, and a tiny model registered with a factory."""

from __future__ import annotations

from pathlib import Path

from medhub import ModelInfo, hookimpl


@hookimpl
def register_datasets(register):
    # A card shipped inside the package: no code needed for a dataset in a known layout.
    register(Path(__file__).parent / "tiny_spleen.json")


@hookimpl
def register_models(register):
    # The factory is a "module:attribute" string, imported only when the model is built,
    # so listing models never imports torch. TinyConv takes a ``dims`` argument, so medhub
    # passes it the dataset's spatial dimensions: that is what makes dims=(2, 3) true.
    register(ModelInfo(
        id="example/tinyconv",
        factory="medhub_example_plugin.tinyconv:TinyConv",
        tasks=("segmentation",),
        dims=(2, 3),
        title="Two convolutions (example plugin)",
        citation="medhub example plugin",
        hparams={"width": 8},
    ))
