"""Seek: the best value of one quantity over some inputs, under the declared constraints.

Its modules, lowest first: ``line`` (one variable searched along a line), ``search`` (many
variables), ``choices`` (variables that take listed values), ``closed_form`` (the optimum as
a formula), ``result`` (the answer), ``run`` (the question, from text to answer).
"""

from .result import SeekResult, Sense
from .run import seek

__all__ = ["SeekResult", "Sense", "seek"]
