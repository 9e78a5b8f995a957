"""The drug registry (issue 12): one module per drug declares everything; the rest looks it up.

The checks are structural: every registered drug is complete and consistent with its own PK
module, the catalogue keeps its order, and the modules that used to hold per-drug name tables
(``build.py``, ``invitro/_assays.py``, titration, population defaults, ...) now contain no drug
name or drug symbol (``KEL_rom``) as a code string: only comments, docstrings and provenance
prose may name drugs there.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from moasim.dosing import RULES, get_rule
from moasim.errors import SpecError
from moasim.library import receptor_params as rp
from moasim.library.drugs import DRUGS, FOOD_KINDS, Drug, drug_modules, get_drug
from moasim.library.drugs._core import EXTRACELLULAR, TRANSMEMBRANE
from moasim.population._sampling import DEFAULT_IIV, NON_RESPONDER_FRACTION

SRC = Path(__file__).resolve().parents[1] / "src" / "moasim"

#: Modules that must look drugs up instead of naming them (they held the old name tables).
LOOKUP_ONLY = (
    "library/build.py", "library/invitro/_assays.py", "library/invitro/_build.py", "library/invitro/_network.py",
    "library/receptor_params.py", "library/drugs/__init__.py", "library/drugs/_core.py", "dosing/_titration.py",
    "dosing/_regimen.py", "population/_sampling.py", "cli/_drugs.py", "cli/_invitro.py",
)


@pytest.mark.parametrize("name", sorted(DRUGS))
def test_every_registered_drug_is_complete(name):
    d = get_drug(name)
    assert isinstance(d, Drug) and d.name == name
    assert d.site in (EXTRACELLULAR, TRANSMEMBRANE)
    assert d.kind and d.mechanism and d.references
    assert d.routes and set(d.routes) <= {"sc", "iv", "oral"}
    assert d.dose_units and d.molar_mass > 0
    assert d.ligand.name == name and d.ligand.site == d.site and rp.LIGANDS[name] is d.ligand
    for p in (d.ligand.KA, d.ligand.EFF, d.ligand.MW):
        assert p.value > 0 and p.source and p.tag in ("R", "R-code", "D", "A", "C")
    mod = d.module()
    names = {p.name for p in mod.parameters} | set(mod.assignments) | {s.name for s in mod.states}
    assert all(p.source and p.tag != "U" for p in mod.parameters), name
    assert d.concentration in {o.name for o in mod.outputs} or d.endogenous
    assert set(d.food_parameters) <= set(FOOD_KINDS) and set(d.food_parameters.values()) <= names
    if d.occupancy:
        symbols = set(re.findall(r"[A-Za-z_]\w*", d.occupancy))
        assert symbols <= names | {p.name for p in d.receptor_parameters}, symbols
    assert (d.titration is None) != (not d.no_titration)
    if d.titration is not None:
        assert RULES[name] is d.titration and get_rule(name) is d.titration
    assert all(v.drug == name and v.parameter in names for v in d.iiv)
    assert d.invitro.expected_ec50_nM > 0


def test_discovery_finds_every_module_and_keeps_the_catalogue_order():
    assert set(drug_modules()) == set(DRUGS)
    orders = [d.order for d in DRUGS.values()]
    assert orders == sorted(orders)
    first = ("romiplostim", "eltrombopag", "hetrombopag", "avatrombopag")
    assert tuple(DRUGS)[:4] == first and tuple(DRUGS)[-1] == "tpo"
    assert next(iter(rp.LIGANDS)) == "tpo"  # the reference ligand first (in-vitro model state order)


def test_population_defaults_come_from_the_registry():
    drug_iiv = [v for v in DEFAULT_IIV if v.drug is not None]
    assert drug_iiv == [v for d in DRUGS.values() for v in d.iiv]
    assert dict(NON_RESPONDER_FRACTION) == {n: d.non_responder_fraction for n, d in DRUGS.items()
                                            if d.non_responder_fraction is not None}


def test_a_drug_without_a_label_rule_is_refused_with_the_reason():
    name = next(n for n, d in DRUGS.items() if d.titration is None)
    with pytest.raises(SpecError, match=f"Invalid titration for {name}: got 'label'; allowed: none: .*fixed regimen"):
        get_rule(name)
    with pytest.raises(SpecError, match="Unknown drug with a label titration rule 'nodrug'"):
        get_rule("nodrug")


def _string_constants(path: Path) -> list[tuple[int, str]]:
    """String constants of a module that are not docstrings (comments are not in the AST)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docs.add(id(first.value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_string_constants_skip_docstrings(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""about eltrombopag"""\n\ndef f():\n    """eltrombopag"""\n    return "x"  # eltrombopag\n')
    assert _string_constants(f) == [(5, "x")]


@pytest.mark.parametrize("rel", LOOKUP_ONLY)
def test_lookup_modules_name_no_drug(rel):
    drugs = [n for n, d in DRUGS.items() if not d.endogenous]
    pattern = re.compile("|".join(drugs + [rf"_{d.suffix}\b" for n, d in DRUGS.items() if not d.endogenous]), re.IGNORECASE)
    # identifier-like constants (dictionary keys, parameter and state names); prose such as a
    # parameter's provenance text may cite the drugs a value was calibrated on
    hits = [(line, s) for line, s in _string_constants(SRC / rel) if not re.search(r"\s", s) and pattern.search(s)]
    assert not hits, f"{rel} names drugs (look them up in moasim.library.drugs instead): {hits}"
