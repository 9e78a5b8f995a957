"""Exported SBML declares its units: libSBML's unit consistency check reports nothing.

Every drug's model (each population, with a dosing regimen as SBML events), the drug-free
model and the bone model are exported; libSBML's consistency checks (units category on)
and internal checks must report no error and no warning (before units were declared,
~220-490 warnings per model: undeclared parameter units, "cannot be fully checked"
formulas, undeclared time units), and every parameter, species and compartment must have
units. ``unit_problems`` also checks the scale (factor) of every unit, which libSBML does
not compare.
"""

import libsbml
import pytest

from moasim.cli.main import main
from moasim.dosing import Regimen
from moasim.dosing._regimen import regimen_events
from moasim.io.sbml import export_sbml, sbml_of
from moasim.library.build import POPULATIONS, Subject, build_model
from moasim.library.drugs import DRUGS, Food

#: a dose and interval per dose unit (the drug's first dose unit is used)
_DOSE = {"ug/kg": ("3 ug/kg", "1 week"), "ug": ("200 ug", "1 week"), "mg": ("50 mg", "1 day")}


def _diagnostics(sbml: str) -> tuple[libsbml.SBMLDocument, list[str]]:
    doc = libsbml.readSBMLFromString(sbml)
    assert doc.getNumErrors() == 0, doc.getErrorLog().toString()
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    doc.checkInternalConsistency()
    found = [f"{e.getErrorId()} [{e.getCategoryAsString()}, {e.getSeverityAsString()}] {e.getMessage().strip()[:300]}"
             for e in (doc.getError(i) for i in range(doc.getNumErrors()))]
    return doc, found


def _assert_units_declared(sbml: str) -> None:
    doc, found = _diagnostics(sbml)
    assert found == [], f"{len(found)} libSBML diagnostics, first: {found[:3]}"
    m = doc.getModel()
    assert m.isSetTimeUnits()
    day = m.getUnitDefinition(m.getTimeUnits())
    assert day is not None and day.getNumUnits() == 1
    u = day.getUnit(0)
    assert (u.getKind(), u.getExponent(), u.getMultiplier() * 10 ** u.getScale()) == (libsbml.UNIT_KIND_SECOND, 1, 86400)
    assert m.getNumParameters() > 0
    missing = [p.getId() for p in m.getListOfParameters() if not p.isSetUnits()]
    missing += [s.getId() for s in m.getListOfSpecies() if not s.isSetSubstanceUnits()]
    missing += [c.getId() for c in m.getListOfCompartments() if not c.isSetUnits()]
    assert missing == []


@pytest.mark.parametrize("population", POPULATIONS)
@pytest.mark.parametrize("drug", sorted(DRUGS))
def test_exported_drug_model_is_unit_consistent(tmp_path, capsys, drug, population):
    d = DRUGS[drug]
    dose, every = _DOSE[d.dose_units[0]]
    out = tmp_path / "m.xml"
    assert main(["export", "sbml", "--drug", drug, "--population", population, "--dose", dose, "--every", every,
                 "--days", "21", "-o", str(out)]) == 0
    _assert_units_declared(out.read_text())


@pytest.mark.parametrize("population", POPULATIONS)
def test_drug_free_model_is_unit_consistent(population):
    model = build_model((), Subject(population=population))
    _assert_units_declared(export_sbml(model))
    from moasim.io.sbml import unit_problems

    assert unit_problems(sbml_of(model, units=False), model) == []


def test_food_events_and_transfers_are_unit_consistent():
    # eltrombopag: a meal sets the chelation rate (SetParameter) and the dual absorption moves GUT1 to GUT2 (Transfer)
    d = DRUGS["eltrombopag"]
    subject = Subject(population="itp")
    model = build_model((d.name,), subject)
    reg = Regimen(drug=d.name, dose=50.0, unit="mg", route="oral", every_days=1.0)
    events = regimen_events(d, reg, 5.0, model.parameter_values, subject.weight_kg, Food(kind="high_calcium", after_h=2))
    assert {type(e.action).__name__ for e in events} >= {"SetParameter", "Add", "Transfer"}
    _assert_units_declared(export_sbml(model, events))


def test_bone_model_is_unit_consistent(tmp_path, capsys):
    out = tmp_path / "bone.xml"
    assert main(["export", "sbml", "--drug", "romosozumab", "-o", str(out)]) == 0
    _assert_units_declared(out.read_text())


@pytest.mark.parametrize("drug", sorted(DRUGS))
def test_unit_factors_are_consistent(drug):
    # stricter than libSBML (which compares dimensions only): the factors agree too, e.g. no ng/mL added to pg/mL
    from moasim.io.sbml import unit_problems

    model = build_model((drug,), Subject(population="itp"))
    assert unit_problems(sbml_of(model, units=False), model) == []


def test_conversion_factor_gets_its_unit():
    # xS_elt = FUREL*(C_elt*1000/MW_elt)/(EC50V_elt*FVIVO): C/MW is in umol/L, EC50V in nM, so the 1000 is nmol/umol
    model = build_model(("eltrombopag",), Subject())
    m = libsbml.readSBMLFromString(sbml_of(model)).getModel()
    assert m.getParameter("xS_elt").getUnits() == "dimensionless"
    rule = m.getAssignmentRule("xS_elt")
    nodes = [rule.getMath()]
    thousand = None
    while nodes:
        n = nodes.pop()
        if n.isNumber() and n.getValue() == 1000:
            thousand = n
        nodes += [n.getChild(i) for i in range(n.getNumChildren())]
    ud = m.getUnitDefinition(thousand.getUnits())
    assert ud.getNumUnits() == 1 and ud.getUnit(0).getKind() == libsbml.UNIT_KIND_DIMENSIONLESS
    assert ud.getUnit(0).getMultiplier() * 10 ** ud.getUnit(0).getScale() == pytest.approx(1e-3)


def test_units_inferred_through_powers_logs_roots_and_conversion_factors():
    from moasim.io.sbml import unit_problems
    from moasim.model import Module, Parameter, State, compose

    p = dict(source="test", tag="A")
    mod = Module(name="t", doc="synthetic", parameters=(
        Parameter(name="K", value=2.0, unit="1/h", model_unit="1/day", **p), Parameter(name="V", value=3.0, unit="L", **p),
        Parameter(name="KM", value=3.0, unit="ng/mL", **p), Parameter(name="H", value=1.5, unit="1", **p)),
        states=(State(name="A", unit="ug", dosable=True), State(name="B", unit="pg/mL")),
        assignments={"C": "A/V", "R": "(C/KM)^H", "QQ": "C^-1", "L": "log(1 + C/KM)", "SQ": "sqrt(C*KM)"},
        rates={"A": "-K*A*exp(-R)*L/(1 + L)", "B": "K*1000*SQ - K*B - 2*K*(B + 1)"})
    model = compose("t", [mod])
    _assert_units_declared(sbml_of(model))
    assert unit_problems(sbml_of(model, units=False), model) == []
    m = libsbml.readSBMLFromString(sbml_of(model)).getModel()
    units = {v: m.getUnitDefinition(m.getParameter(v).getUnits()) for v in ("C", "QQ", "SQ")}
    assert {v: ud.getName() for v, ud in units.items()} == {"C": "ng/mL", "QQ": "1/(ng/mL)", "SQ": "ng/mL"}
    assert m.getParameter("R").getUnits() == m.getParameter("L").getUnits() == "dimensionless"
    # the 1000 in K*1000*SQ (ng/mL -> pg/mL) is 1000 pg/ng = 1, the 1 in (B + 1) is 1 pg/mL
    assert "1000 u_0p001_dimensionless" in libsbml.formulaToL3String(m.getRateRule("B").getMath())
    assert "B + 1 pg_per_mL" in libsbml.formulaToL3String(m.getRateRule("B").getMath())
