"""One patient, Bayesian: fit the population model to a patient's own record and forecast
candidate regimens (``moasim fit patient``, ``moasim forecast``).

- :func:`fit_patient`: MAP estimates with the population's IIV as prior and its residual error as
  likelihood, Laplace approximation (and optional emcee samples), non-responder mixture.
- :func:`forecast`: posterior-predictive platelets under candidate regimens, probabilities of
  staying in target, of counts below 50 and above 400, and the recommended regimen.
"""

from .fit import PatientFit, fit_patient
from .forecast import Forecast, default_regimens, forecast

__all__ = ["fit_patient", "PatientFit", "forecast", "Forecast", "default_regimens"]
