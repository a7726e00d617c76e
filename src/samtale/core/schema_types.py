"""Bounded input types for the API's schemas (django-ninja): an id, a date or a port that is not
one is a 422 before anything reads it, never a database overflow (`core.bounds`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from ninja import Field, Path

from samtale.core.bounds import MAX_ID

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2199, 12, 31))]
Port = Annotated[int, Field(ge=1, le=65535)]
