"""Typed hooks: what other apps do when something happens in an app below them, without that app
naming them (DESIGN: layers run downwards). An app declares a hook next to the action that runs it;
the apps above register with it in their AppConfig.ready. Registering twice is harmless."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Hook(Generic[P, R]):
    """`hook.register(fn)`; `hook(*args)` calls every registered function in order, returning
    their results. A hook runs inside its action's transaction: what it does commits with it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._functions: list[Callable[P, R]] = []

    def register(self, function: Callable[P, R]) -> Callable[P, R]:
        if function not in self._functions:
            self._functions.append(function)
        return function

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> list[R]:
        return [function(*args, **kwargs) for function in self._functions]

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._functions)}>"
