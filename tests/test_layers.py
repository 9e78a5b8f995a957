"""The layer registry (moasim.layers): which layer handles a drug or population, and that every
function it names can be loaded."""

from __future__ import annotations

import dataclasses

import pytest

from moasim.layers import BONE, LAYERS, THROMBOPOIESIS, Layer, layer_for


@pytest.mark.parametrize("drug, population, layer", [
    (None, None, THROMBOPOIESIS),
    ("romiplostim", "itp", THROMBOPOIESIS),
    (None, "healthy", THROMBOPOIESIS),
    ("romosozumab", None, BONE),
    ("romosozumab", "healthy", BONE),  # a bone drug goes to the bone layer whatever the population
    ("teriparatide", None, BONE),
    ("eltrombopag", "postmenopausal_osteoporosis", BONE),
    (None, "postmenopausal_osteoporosis", BONE),
    ("nosuchdrug", None, THROMBOPOIESIS),  # unknown drugs: the catalogue's unknown-drug line
])
def test_layer_for(drug, population, layer):
    assert layer_for(drug, population) is layer


@pytest.mark.parametrize("layer", LAYERS, ids=lambda x: x.name)
def test_every_dotted_path_loads(layer):
    for f in dataclasses.fields(Layer):
        value = getattr(layer, f.name)
        if isinstance(value, str) and value.startswith("moasim."):
            assert layer.load(f.name) is not None, f.name


def test_trial_population_kinds_pick_their_layer():
    for layer in LAYERS:
        assert all(layer_for(population=kind) is layer for kind in layer.trial_populations)


def test_layers_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BONE.name = "other"  # type: ignore[misc]
