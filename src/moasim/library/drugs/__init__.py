"""The drug registry: one module per drug of the thrombopoiesis layer, found by scanning this package.

Each public module of this package (a name without a leading underscore) defines ``DRUG``, a
:class:`Drug` that declares everything about the drug: mechanism and binding site, receptor
parameters, PK module, routes and dose units, molar mass, food and cation effects,
covariates, the label titration rule, population defaults, in-vitro assay defaults and its
``moasim drugs`` text. The rest of the code looks drugs up here (:data:`DRUGS`,
:func:`get_drug`) and never names one.

Adding a drug: write ``<name>.py`` in this package defining ``DRUG = Drug(...)`` (see
``lusutrombopag.py`` for a complete example with sources). Nothing else changes: the
catalogue, the whole-body model, the c-Mpl ligand table, the in-vitro assays, titration
and the population defaults all read the registry.

NOTE: the IIV entries of all drugs are drawn for every virtual subject, in catalogue order,
from one stream (common random numbers across arms); a new drug with IIV entries therefore
shifts the later draws of every subject. Give a new drug IIV only together with a
re-recorded comparison of the example trials.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import MappingProxyType
from typing import Mapping

from ...errors import DosingError, SpecError, invalid_value, unknown_name
from ...layers import BONE
from ._core import FOOD_KINDS, IIV, Drug, Food, InVitroDefaults, LigandParams, TitrationRule

__all__ = ["Drug", "Food", "DRUGS", "get_drug", "drug_routes", "check_route", "FOOD_KINDS", "LigandParams", "TitrationRule", "IIV",
           "InVitroDefaults", "drug_modules"]


def drug_modules() -> tuple[str, ...]:
    """Names of the drug modules of this package (every public submodule)."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and not m.ispkg))


def _discover() -> dict[str, Drug]:
    found = []
    for mod_name in drug_modules():
        mod = importlib.import_module(f"{__name__}.{mod_name}")
        drug = getattr(mod, "DRUG", None)
        if not isinstance(drug, Drug):
            raise SpecError(invalid_value(f"DRUG of {mod.__name__}", drug, "a moasim.library.drugs.Drug"))
        if drug.name != mod_name:
            raise SpecError(invalid_value(f"name of the drug in {mod.__name__}", drug.name, f"the module's name {mod_name!r}"))
        found.append(drug)
    found.sort(key=lambda d: (d.order, d.name))
    return {d.name: d for d in found}


#: The catalogue: drug name -> :class:`Drug`, in catalogue order (``Drug.order``).
DRUGS: Mapping[str, Drug] = MappingProxyType(_discover())


def get_drug(name: str) -> Drug:
    """Catalogue entry by name; raise :class:`SpecError` for an unknown drug."""
    if name not in DRUGS:
        if name in BONE.drugs:
            raise SpecError(f"Drug {name!r} acts on bone, not on platelets: simulate it with population postmenopausal_osteoporosis "
                            f"(moasim simulate) or in a bone trial; platelet drugs: {', '.join(DRUGS)}.")
        raise SpecError(unknown_name("drug", name, (*DRUGS, *BONE.drugs)))
    return DRUGS[name]


def drug_routes(name: str) -> tuple[str, ...]:
    """Routes of a catalogue drug, the default first (:attr:`moasim.layers.Layer.routes`)."""
    return get_drug(name).routes


def check_route(drug: Drug, route: str) -> None:
    """Raise :class:`DosingError` unless ``route`` is one of the drug's routes."""
    if route not in drug.routes:
        raise DosingError(invalid_value(f"route for {drug.name}", route, " | ".join(drug.routes)))
