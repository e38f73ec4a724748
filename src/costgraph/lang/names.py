"""The names the rule language allows: the default preset kinds and the patterns of names.

Kept apart from the pydantic file schemas (``schema``) so that what a loaded rule set needs
at run time never imports pydantic: a rule set read from the on-disk cache is never
validated again.
"""

from __future__ import annotations

import re

# the kinds a rules folder without a kinds file may use; each composes by merging (later
# presets win value by value), as every kind did before kinds were declared
PRESET_KINDS = ("hardware", "model", "precision", "facility", "region", "workload",
                "convention", "scenario")
KIND_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
PRESET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
RULE_ID = re.compile(r"^[a-z][a-z0-9_.-]*$")
