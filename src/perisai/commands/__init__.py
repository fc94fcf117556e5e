"""Command modules: each registers its commands on `perisai.cli_kit.app` when imported.

Every module in this package is imported, so adding a command group is adding a file here.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_module.name}")
