"""Argument objects of the Airline tools (flight segments, passengers, payments).

Their class and field names are those of tau2's tool schemas (the ``$defs`` of the schemas
reference them by name). Like tau2's, they ignore unknown keys and coerce loosely, and a bad
object is reported with pydantic's own validation message.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from taskforge.env.toolkit import ToolError


class FlightInfo(BaseModel):
    """A flight segment asked for: which flight, on which day."""

    flight_number: str = Field(description="Flight number, e.g. 'HAT001'.")
    date: str = Field(description="Date of the flight, YYYY-MM-DD, e.g. '2024-05-01'.")


class Passenger(BaseModel):
    """A traveller."""

    first_name: str = Field(description="The traveller's first name.")
    last_name: str = Field(description="The traveller's last name.")
    dob: str = Field(description="The traveller's date of birth, YYYY-MM-DD.")


class Payment(BaseModel):
    """How much to charge to one payment method."""

    payment_id: str = Field(description="Payment method id from the user's profile.")
    amount: int = Field(description="Amount to charge, in whole USD.")


M = TypeVar("M", bound=BaseModel)


def parse_all(model: type[M], items: list[Any]) -> list[dict[str, Any]]:
    """Validate each item as ``model``; the dumps, or ToolError with pydantic's message."""
    out = []
    for item in items:
        try:
            out.append(model.model_validate(item).model_dump())
        except ValidationError as exc:
            raise ToolError(str(exc)) from None
    return out
