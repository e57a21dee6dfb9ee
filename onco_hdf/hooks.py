"""How the apps plug into the foundation without the foundation importing them.

Each project app may have a module named after a hook (``dashboard``, ``demo``) with known
functions; the foundation finds them here, in INSTALLED_APPS order.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from django.apps import apps
from django.utils.module_loading import module_has_submodule

PROJECT_APPS = ("onco_hdf", "surveys", "contouring", "cyber_continuity", "habilitations")


def app_modules(module_name: str) -> list[ModuleType]:
    found = []
    for config in apps.get_app_configs():
        if config.name in PROJECT_APPS and module_has_submodule(config.module, module_name):
            found.append(importlib.import_module(f"{config.name}.{module_name}"))
    return found
