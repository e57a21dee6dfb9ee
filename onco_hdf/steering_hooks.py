"""What the steering dashboard and the to-do home pages gather from the apps.

An app's ``steering.py`` may define:

- ``participation(user, centres) -> list[Column]``: its columns of the centre × project
  matrix (one :class:`Cell` per centre id, linking to the detail);
- ``todo(user) -> list[TodoItem]``: what this user has to do in the app (home page);
- ``trends(user) -> list[Trend]``: time series drawn as SVG charts.

Each app answers from its own selectors, scoped to the user; the foundation never queries
another app's models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from onco_hdf.hooks import app_modules

OK, WARN, LATE, NONE = "ok", "warn", "late", "none"


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    level: str = OK


@dataclass(frozen=True)
class Column:
    key: str
    project: str
    label: str
    cells: dict[int, Cell] = field(default_factory=dict)


@dataclass(frozen=True)
class TodoItem:
    text: str
    url: str = ""
    action: str = ""
    level: str = OK


@dataclass(frozen=True)
class Trend:
    key: str
    title: str
    labels: list[str]
    values: list[float]


def _collect(name: str, *args) -> list:
    found = []
    for module in app_modules("steering"):
        hook = getattr(module, name, None)
        if hook is not None:
            found.extend(hook(*args))
    return found


def participation_columns(user, centres) -> list[Column]:
    return _collect("participation", user, list(centres))


def todo_items(user) -> list[TodoItem]:
    return _collect("todo", user)


def trends(user) -> list[Trend]:
    return _collect("trends", user)
