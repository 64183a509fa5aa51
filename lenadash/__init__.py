"""lenadash: a local lab-results dashboard for patients on lenalidomide.

The package is laid out by role (docs/architecture.md): `vocab/`, `ingest/`, `clinical/`, `store/`,
`dashboard/`, `imports`, `rules/` (data). Scripts written against 0.1 imported flat modules
(`lenadash.assess`, `lenadash.dosing`, ...); those names still resolve to the modules' new homes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.2.0"

# Flat module name of 0.1 -> its home in the role layout. Same module object, not a copy.
MOVED = {
    "analytes": "lenadash.vocab.analytes",
    "units": "lenadash.vocab.units",
    "models": "lenadash.store.models",
    "grading": "lenadash.clinical.grading",
    "renal": "lenadash.clinical.renal",
    "schedule": "lenadash.clinical.schedule",
    "cycles": "lenadash.clinical.cycles",
    "dosing": "lenadash.clinical.dosing",
    "assess": "lenadash.clinical.assess",
    "views": "lenadash.dashboard.views",
    "charts": "lenadash.dashboard.charts",
    "visit": "lenadash.dashboard.visit",
    "ui": "lenadash.dashboard.ui",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves `lenadash.<old name>` to the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == __name__ and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name.rpartition(".")[2]])

    def exec_module(self, module):
        pass  # already executed under its new name


sys.meta_path.append(_MovedModules())
