"""Label titration decisions (rule text, Nplate USPI) and unit parsing at the boundary."""

import pytest

from moasim.dosing import TitrationController, get_rule
from moasim.errors import UnitError
from moasim.library.drugs import get_drug
from moasim.units import convert, to_unit


def _walk(counts):
    ctl = TitrationController(rule=get_rule("romiplostim"), drug=get_drug("romiplostim"), route="sc",
                              params={"F_rom": 0.5}, weight_kg=70.0, t_end=7.0 * (len(counts) + 1))
    doses = []
    for k, p in enumerate(counts):
        ctl.decide(7.0 * (k + 1), lambda name, p=p: p)
        doses.append(ctl.history[-1][1])
    return doses


def test_romiplostim_label_rule():
    # <50: +1 each week; 2 consecutive weeks >200: -1; >400: hold, resume -1 when <200
    assert _walk([20, 30, 45]) == [2, 3, 4]
    assert _walk([20, 250, 250]) == [2, 2, 1]
    assert _walk([20, 250, 100, 250]) == [2, 2, 2, 2]  # not consecutive
    assert _walk([20, 500, 300, 150]) == [2, 0, 0, 1]
    assert _walk([10] * 12)[-1] == 10  # max 10 ug/kg


def test_units_parse_and_refuse():
    assert to_unit("1 week", "day", "every") == 7
    assert to_unit("10 ug/kg", "ug/kg", "dose") == 10
    assert convert(0.668, "L/h", "L/day") == pytest.approx(16.032)
    with pytest.raises(UnitError, match="unit of every"):
        to_unit("10 mg", "day", "every")
    with pytest.raises(UnitError, match="Invalid every"):
        to_unit("abc", "day", "every")


def test_simulate_titration_takes_every_as_the_dosing_interval():
    """``--titration --every`` (ignored before; a trial arm's ``every:`` already set it): the
    label rule keeps its weekly visits and doses, at the start dose, every 2 days instead of daily."""
    import moasim

    daily = moasim.simulate("eltrombopag", "50 mg", titration="label", days=14, population="itp")
    every2 = moasim.simulate("eltrombopag", "50 mg", every="2 days", titration="label", days=14, population="itp")
    assert [t for t, *_ in daily.doses] == pytest.approx([float(d) for d in range(14)])
    assert [t for t, *_ in every2.doses] == pytest.approx([float(d) for d in range(0, 14, 2)])
    assert {a for _, _, a, _ in every2.doses} == {50.0} and "every 2 d" in every2.regimen
