"""Models as data: parameters, states, equations and outputs, composed from modules."""

from ._core import Model, Module, Output, Parameter, State, compose

__all__ = ["Parameter", "State", "Output", "Module", "Model", "compose"]
