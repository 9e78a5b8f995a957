"""The model layers, and the one place that says which layer handles a drug or a population.

moasim has two model layers: thrombopoiesis (TPO-receptor agonists and platelets; its drugs are
the catalogue :data:`moasim.library.drugs.DRUGS`) and bone (romosozumab and its comparators,
:mod:`moasim.library.bone`). Each is a :class:`Layer` record that names its drugs and
populations and where its functions live. :func:`moasim.simulate`, :func:`moasim.run_trial`,
``moasim export`` and ``moasim drugs`` ask :func:`layer_for` instead of testing names.

Functions are named by dotted path (``"package.module:function"``) and imported only when used
(:meth:`Layer.load`). This module imports nothing from moasim, so any module can read it without
an import cycle.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["Layer", "LAYERS", "THROMBOPOIESIS", "BONE", "layer_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One model layer: its drugs, its populations and the functions that simulate them.

    Parameters
    ----------
    name : str
        ``"thrombopoiesis"`` or ``"bone"``.
    drugs : tuple of str
        Drugs whose mechanism is in the layer's model. Empty for the default layer
        (thrombopoiesis), whose drugs are the catalogue :data:`moasim.library.drugs.DRUGS`.
    planned_drugs : tuple of str
        Drugs handed to the layer whose mechanism is not in its model yet (refused with a
        line saying so).
    populations : tuple of str
        Populations of a typical subject (``simulate(population=...)``).
    trial_populations : tuple of str
        The ``population: {kind: ...}`` values of the layer's trial specs; the first is the
        default kind.
    food_effect : bool
        Whether a meal with an oral dose changes anything in the layer's model.
    roadrunner_only : str
        Why the layer's trials run one subject at a time (libroadrunner) and refuse the
        batched engine; empty where the batched engine may run them.
    simulate : str
        ``simulate(drug, dose, *, every, route, days, population, titration, subject, food,
        count, samples_per_day, engine, rtol, atol, parameters)``: the arguments of
        :func:`moasim.simulate`.
    routes : str
        ``routes(drug) -> tuple[str, ...]``: the drug's routes, the default first.
    trial_spec : str
        Module that parses the layer's trial specs: ``DEFAULT_VISITS``,
        ``check_visits(visit_days, visits)``, ``parse_population(d)``, ``parse_arm(d, i)`` and
        ``parse_endpoint(d, i, duration, arm_names, population)``.
    trial_shard : str
        ``(spec, arm_index, replicate, start, count, typical, engine) -> pandas.DataFrame``:
        one shard of subjects, one row each.
    trial_values : str
        ``(spec, table) -> (endpoints, inputs)``: from a shard table, per endpoint name the
        per-subject ``(values, events)``, and per name the per-subject arrays the arm's
        curves are computed from.
    trial_courses : str
        ``(spec, head, inputs) -> (bands, curves)``: one arm's percentile bands (from
        ``head``, the shard table of its first subjects) and curves (from ``inputs``, the
        arrays of all its subjects).
    trial_prepare : str
        ``(spec, engine) -> None``, optional (empty: nothing to prepare): compile or load the
        engine's kernels for every arm in this process, so that the shard workers forked from
        it share them instead of each loading them again.
    export_sbml : str
        ``(drug, population, dose, every, route, days) -> (sbml, description, n_dose_events)``.
    catalogue : str
        ``() -> {drug: entry}``: the layer's entries of ``moasim drugs``.
    """

    name: str
    drugs: tuple[str, ...]
    planned_drugs: tuple[str, ...] = ()
    populations: tuple[str, ...]
    trial_populations: tuple[str, ...]
    food_effect: bool
    roadrunner_only: str = ""
    simulate: str
    routes: str
    trial_spec: str
    trial_shard: str
    trial_values: str
    trial_courses: str
    export_sbml: str
    trial_prepare: str = ""
    catalogue: str

    def load(self, what: str) -> Any:
        """The function (or module) that the dotted-path field ``what`` names, imported now."""
        module, _, name = getattr(self, what).partition(":")
        loaded = importlib.import_module(module)
        return getattr(loaded, name) if name else loaded


THROMBOPOIESIS = Layer(
    name="thrombopoiesis",
    drugs=(),  # the default layer: every drug of the catalogue (moasim.library.drugs.DRUGS)
    populations=("healthy", "itp", "aplastic"),
    trial_populations=("itp",),
    food_effect=True,
    simulate="moasim.simulation:_simulate_thrombopoiesis",
    routes="moasim.library.drugs:drug_routes",
    trial_spec="moasim.trials._itp_spec",
    trial_shard="moasim.trials._itp:simulate_itp_shard",
    trial_values="moasim.trials._itp:itp_values",
    trial_courses="moasim.trials._itp:itp_courses",
    trial_prepare="moasim.trials._itp:prepare_itp_engine",
    export_sbml="moasim.cli._export:platelet_model_sbml",
    catalogue="moasim.cli._drugs:platelet_entries",
)

BONE = Layer(
    name="bone",
    drugs=("romosozumab", "denosumab", "alendronate", "teriparatide"),
    planned_drugs=(),
    populations=("postmenopausal_osteoporosis", "male_osteoporosis"),
    trial_populations=("postmenopausal_osteoporosis", "male_osteoporosis"),
    food_effect=False,
    roadrunner_only="its subjects take ~10 ms each with libroadrunner",
    simulate="moasim.library.bone:simulate_bone",
    routes="moasim.library.bone._simulate:bone_routes",
    trial_spec="moasim.trials._bone_spec",
    trial_shard="moasim.trials._bone:simulate_bone_shard",
    trial_values="moasim.trials._bone:bone_values",
    trial_courses="moasim.trials._bone:bone_courses",
    export_sbml="moasim.cli._export:bone_model_sbml",
    catalogue="moasim.cli._drugs:bone_entries",
)

#: every layer, in catalogue order (``moasim drugs`` lists the thrombopoiesis drugs first)
LAYERS = (THROMBOPOIESIS, BONE)


def layer_for(drug: str | None = None, population: str | None = None) -> Layer:
    """The layer that handles ``drug`` or ``population``.

    A layer other than the default claims a drug it names (modelled or planned) and its
    populations; whatever no such layer claims goes to thrombopoiesis, the default layer. A
    bone drug given to a thrombopoiesis population (or the reverse) goes to the bone layer.

    Parameters
    ----------
    drug : str, optional
        Drug name (``moasim drugs``).
    population : str, optional
        Population of a typical subject, or the ``kind`` of a trial population.

    Returns
    -------
    Layer
    """
    for layer in LAYERS:
        if layer is not THROMBOPOIESIS and (drug in (*layer.drugs, *layer.planned_drugs) or population in layer.populations):
            return layer
    return THROMBOPOIESIS
