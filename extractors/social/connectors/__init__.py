"""Source plugins. Every module here that defines a `Connector` subclass is discovered, so a new
source is one new module (see `extractors.social.connectors.base`)."""

from __future__ import annotations

import importlib
import pkgutil

_DISCOVERED = False


def discover() -> None:
    """Import every plugin module of this package once (registration happens on import)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_") and module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
    _DISCOVERED = True
