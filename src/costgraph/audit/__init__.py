"""Audit: published claims re-derived from the rules, each with a verdict and its causes.

The package exports what a caller needs; its modules, lowest first: ``claims`` (the file
format), ``outcome`` (verdicts and how a value meets a claim), ``causes`` (why a figure
disagrees), ``report`` (Markdown), ``verdicts`` (the audit itself).
"""

from .outcome import (CONTRADICTED, INFEASIBLE, NOT_MODELLED, REPRODUCED, UNIT_MISMATCH, VERDICTS,
                      Cause, Verdict, VerdictKind)
from .verdicts import AuditReport, audit, rederive

__all__ = ["AuditReport", "CONTRADICTED", "Cause", "INFEASIBLE", "NOT_MODELLED", "REPRODUCED",
           "UNIT_MISMATCH", "VERDICTS", "Verdict", "VerdictKind", "audit", "rederive"]
