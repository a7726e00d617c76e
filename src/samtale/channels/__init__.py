"""Channel packages: one per kind (email today; chat, Messenger, forms and calls next). Each registers
its adapter with the inbox (`samtale.inbox.adapters`) and brings its own models, actions, tasks,
views, API routes and templates. Channel packages never import each other."""

from __future__ import annotations

import importlib
import importlib.util

from django.apps import AppConfig, apps


def channel_apps() -> list[AppConfig]:
    """The installed channel packages (`samtale.channels.<kind>`)."""
    return [config for config in apps.get_app_configs() if config.name.startswith("samtale.channels.")]


def has_module(config: AppConfig, name: str) -> bool:
    return importlib.util.find_spec(f"{config.name}.{name}") is not None
