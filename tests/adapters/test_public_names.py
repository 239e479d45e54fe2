"""Public classes carry the public module as ``__module__`` (tracebacks, reprs, docs)."""

from __future__ import annotations

import importlib
import pickle
import traceback
import typing

import pytest

import clerk_middleware.core
from clerk_middleware.core import ConfigurationError

PUBLIC_MODULES = [
    "clerk_middleware.core",
    "clerk_middleware.adapters.wsgi",
    "clerk_middleware.adapters.flask",
    "clerk_middleware.adapters.asgi",
    "clerk_middleware.adapters.starlette",
    "clerk_middleware.adapters.fastapi",
]


def public_classes() -> list[tuple[str, str, type]]:
    found = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for export in module.__all__:
            value = getattr(module, export)
            if isinstance(value, type):
                found.append((name, export, value))
    return found


@pytest.mark.parametrize(("module", "name", "cls"), public_classes(),
                         ids=[f"{m}.{n}" for m, n, _ in public_classes()])
def test_public_classes_name_a_public_module_that_exports_them(
    module: str, name: str, cls: type
) -> None:
    assert not any(part.startswith("_") for part in cls.__module__.split(".")), cls.__module__
    home = importlib.import_module(cls.__module__)
    assert getattr(home, cls.__qualname__) is cls
    if module == "clerk_middleware.core":
        assert cls.__module__ == "clerk_middleware.core"


@pytest.mark.parametrize("name", [n for n in clerk_middleware.core.__all__
                                  if isinstance(getattr(clerk_middleware.core, n), type)])
def test_type_hints_of_core_classes_still_resolve(name: str) -> None:
    # get_type_hints (pydantic, FastAPI response models) resolves a class's string
    # annotations in the namespace of its __module__.
    typing.get_type_hints(getattr(clerk_middleware.core, name))


def test_a_configuration_error_shows_the_public_path() -> None:
    error = ConfigurationError("bad option")
    shown = "".join(traceback.format_exception(error))
    assert "clerk_middleware.core.ConfigurationError: bad option" in shown
    assert "_errors" not in shown
    assert type(pickle.loads(pickle.dumps(error))) is ConfigurationError  # noqa: S301


def test_the_auth_accessor_names_a_public_module() -> None:
    from clerk_middleware.adapters.flask import ClerkAuth, auth

    assert type(auth) is ClerkAuth
    assert ClerkAuth.__module__ == "clerk_middleware.adapters.wsgi"
