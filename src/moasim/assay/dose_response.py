"""Dose-response fitting: 3PL, 4PL and 5PL log-logistic curves.

Curves (concentration ``x`` >= 0, in the file's unit; Prism's sign convention)::

    4PL   f(x) = bottom + (top - bottom) / (1 + (ec50/x)**hill)
    5PL   f(x) = bottom + (top - bottom) / (1 + (2**(1/s) - 1) * (ec50/x)**hill)**s
    3PL   4PL with ``bottom`` fixed (default 0)

``hill > 0``: response rises with dose (``f(0) = bottom``); ``hill < 0``: it falls
(``f(0) = top``), so zero-dose (vehicle) wells sit on the plateau they belong to and are
fitted as they are, with no log(0). The 5PL is the Gottschalk & Dunn (2005) asymmetric
logistic re-parameterised so that ``ec50`` is the concentration of half-maximal response
for every asymmetry ``s`` (``s = 1`` gives the 4PL).

Fitting is weighted nonlinear least squares (:func:`scipy.optimize.least_squares`, trust
region, analytic Jacobian) in internal parameters ``(bottom, top, ln ec50, hill, ln s)``.

Standard errors (``se=``):

* ``'gauss-newton'`` (default): ``s^2 (J^T W J)^-1`` mapped to the reported parameters by the
  delta method, ``s^2 = RSS / (n - p)``. These are the standard errors of R's ``nls``,
  GraphPad Prism and :func:`scipy.optimize.curve_fit` (Bates & Watts 1988, sec. 2.3).
* ``'hessian'``: ``s^2 (H / 2)^-1`` with ``H`` the Hessian of the RSS, as R's ``drc``
  (``vcov.drc``; Ritz et al. 2015). It adds the residual-curvature term ``sum w r d^2 f`` to
  ``J^T W J``; the two agree closely for well-determined fits and part for small or badly
  designed experiments.

Confidence intervals are Wald t-intervals except for ``ec50`` (and relative potency), whose
interval is the profile-likelihood one (Bates & Watts 1988, ch. 6): all ``theta`` with
``|tau(theta)| <= t(0.975, n - p)``, ``tau = sign(theta - theta_hat) sqrt(S(theta) - S_hat) / s``.
The profile is searched over the whole tested range, not only near the estimate (see
:mod:`moasim.assay._profile`); an end the data do not close is reported open (``inf``, or
``null`` in JSON) with a note.

Designs with no estimable EC50 (group ``status``)
--------------------------------------------------
A mature curve-fitting tool reports such groups and carries on with the others (GraphPad
Prism flags them "ambiguous"/"not converged" per data set); here every group gets a
``status`` and explanatory ``notes`` and its EC50 is ``NaN`` (``null`` in JSON) unless ``ok``:

* ``'ok'``: EC50 estimated inside the tested concentrations.
* ``'ec50_bound'``: the fitted EC50 lies beyond the tested range (only the lower or upper part
  of the curve was observed); the EC50 is reported as a bound, ``ec50_bound = (highest, None)``
  ("EC50 above the highest concentration") or ``(None, lowest)``, with no SE or CI. The fitted
  curve is kept (``curve``, :meth:`CurveFit.predict`).
* ``'no_dose_response'``: all responses equal, or the model fits no better than a horizontal
  line (extra-sum-of-squares F-test at ``no_effect_alpha``; cf. drc's ``noEffect``). This
  includes responses on one plateau only (e.g. only the bottom within the tested range).
* ``'not_identifiable'``: fewer than 2 positive concentrations (a single dose level, with or
  without zero-dose wells), fewer concentration levels than parameters, or no finite optimum.

A 5PL whose asymmetry runs to a boundary of the parameter space - ``s -> inf``, where the curve
becomes the Gompertz form ``bottom + (top - bottom) exp(-ln2 (ec50/x)**hill)``, or ``s -> 0`` -
has no least-squares optimum at a finite asymmetry. ``ln s`` is bounded by ``+-ASYM_CLIP`` (30);
when the fit ends on the bound, or the RSS is no higher there than where the optimiser stopped
(still improving toward it), the asymmetry is held on the bound, is not estimated (``NaN``, JSON
``null``; ``at_boundary = ('asymmetry',)``), ``converged`` is false and a note says so; the
curve (``curve``, :meth:`CurveFit.predict`) is the limiting one. The other parameters' SEs and
Wald intervals are then conditional on the limit (the note says so); the EC50 interval is the
profile-likelihood one, in which the asymmetry is free.

A step-like fit (no tested concentration within the curve's 10-90% transition, ``|hill|``
effectively infinite) keeps its EC50 with the profile interval (about the two concentrations
around the step) but reports no standard error for ``ec50`` and ``hill``. Relative potency
involving a group that is not ``ok`` is ``NaN`` with a note. Fewer observations than free
parameters remains an error (:class:`~moasim.errors.FitError`). The command line exits 0 when
at least one group has an EC50 estimate, 1 when none has (the output is still written) and 2
on invalid input.

Where things are
----------------
This module is the public face; the code lives in private modules, one job each:

* :mod:`._dr_models`: model names, internal kinds, :func:`predict`
* :mod:`._dr_fit_curve`: :func:`fit_curve`, :func:`fit_4pl`, :func:`fit_5pl` (arrays)
* :mod:`._dr_fit_table`: :func:`fit_dose_response` (a tidy table, groups, shared fits)
* :mod:`._dr_joint`: joint least squares over groups: starts, orientation, covariance
* :mod:`._dr_intervals`: standard errors, Wald and profile intervals, outliers, AIC
* :mod:`._dr_status`: input checks and why a group has no EC50 (status, notes)
* :mod:`._dr_potency`: relative potency, parallelism, :func:`compare_models`
* :mod:`._dr_results`: the result objects and their JSON/table output
* :mod:`._dr_plot`: :func:`plot_dose_response`
* :mod:`._nls`, :mod:`._profile`: the curve and its Jacobian, the least-squares and profile engines
* :mod:`._io`: reading tables and plate layouts; JSON-safe numbers

References
----------
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
Gottschalk PG, Dunn JR (2005) The five-parameter logistic. Anal Biochem 343:54-65.
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley.
Motulsky H, Christopoulos A (2004) Fitting Models to Biological Data Using Linear and Nonlinear
Regression. Oxford University Press (extra-sum-of-squares F-test; "ambiguous" fits).
Finney DJ (1978) Statistical Method in Biological Assay, 3rd ed. (parallel-line potency).
"""

from __future__ import annotations

from ._dr_fit_curve import fit_4pl as fit_4pl
from ._dr_fit_curve import fit_5pl as fit_5pl
from ._dr_fit_curve import fit_curve as fit_curve
from ._dr_fit_table import fit_dose_response as fit_dose_response
from ._dr_models import MODELS as MODELS
from ._dr_models import STATUSES as STATUSES
from ._dr_models import predict as predict
from ._dr_plot import plot_dose_response as plot_dose_response
from ._dr_potency import compare_models as compare_models
from ._dr_results import CurveFit as CurveFit
from ._dr_results import DoseResponseResult as DoseResponseResult
from ._dr_results import ModelComparison as ModelComparison
from ._dr_results import ParallelismTest as ParallelismTest
from ._dr_results import RelativePotency as RelativePotency
from ._nls import ASYM_CLIP as ASYM_CLIP
from ._nls import SE_METHODS as SE_METHODS
from ._profile import ProfileInterval as ProfileInterval

__all__ = [
    "MODELS",
    "SE_METHODS",
    "STATUSES",
    "CurveFit",
    "RelativePotency",
    "ParallelismTest",
    "ModelComparison",
    "DoseResponseResult",
    "fit_curve",
    "fit_4pl",
    "fit_5pl",
    "fit_dose_response",
    "compare_models",
    "predict",
    "plot_dose_response",
]
