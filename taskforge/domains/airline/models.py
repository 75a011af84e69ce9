"""Airline DB model: reads tau2's Airline ``db.json`` and dumps what tau2's model dumps.

Field names, order and types follow tau2's data model, so ``model_dump()`` (and with it the
whole-DB JSON hash) is the same dict tau2 computes; the one key a file may omit is a
reservation's ``status`` (None unless cancelled), which the dump always carries, as tau2's does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

CabinClass = Literal["business", "economy", "basic_economy"]
FlightType = Literal["round_trip", "one_way"]
Insurance = Literal["yes", "no"]
Membership = Literal["gold", "silver", "regular"]
CABINS: tuple[CabinClass, ...] = ("business", "economy", "basic_economy")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Name(_Record):
    """A person's name."""

    first_name: str = Field(description="First name.")
    last_name: str = Field(description="Last name.")


class Address(_Record):
    """A postal address."""

    address1: str = Field(description="First line.")
    address2: str | None = Field(default=None, description="Second line, may be absent.")
    city: str = Field(description="City.")
    country: str = Field(description="Country.")
    state: str = Field(description="State or province.")
    zip: str = Field(description="Postal code.")


class CreditCard(_Record):
    """A credit card on file."""

    source: Literal["credit_card"] = Field(description="Always 'credit_card'.")
    id: str = Field(description="Payment method id, e.g. 'credit_card_0000000'.")
    brand: str = Field(description="Card brand, e.g. visa.")
    last_four: str = Field(description="Last four digits.")


class GiftCard(_Record):
    """A gift card with a remaining balance."""

    source: Literal["gift_card"] = Field(description="Always 'gift_card'.")
    id: str = Field(description="Payment method id, e.g. 'gift_card_0000000'.")
    amount: float = Field(description="Remaining balance in USD.")


class Certificate(_Record):
    """A travel certificate: used once, whole, for a new booking."""

    source: Literal["certificate"] = Field(description="Always 'certificate'.")
    id: str = Field(description="Payment method id, e.g. 'certificate_0000000'.")
    amount: float = Field(description="Face value in USD.")


PaymentMethod = Annotated[CreditCard | GiftCard | Certificate, Field(discriminator="source")]


class Passenger(_Record):
    """A traveller on a reservation (or saved in a profile)."""

    first_name: str = Field(description="First name.")
    last_name: str = Field(description="Last name.")
    dob: str = Field(description="Date of birth, YYYY-MM-DD.")


class Payment(_Record):
    """A payment (positive) or refund (negative) on a reservation."""

    payment_id: str = Field(description="Payment method used.")
    amount: int = Field(description="Amount in whole USD; negative for a refund.")


class DateAvailable(_Record):
    """A future flight date that can be booked."""

    status: Literal["available"] = Field(description="Bookable.")
    available_seats: dict[CabinClass, int] = Field(description="Seats left per cabin.")
    prices: dict[CabinClass, int] = Field(description="Price per seat per cabin, whole USD.")


class DateLanded(_Record):
    """A flight date that has been flown."""

    status: Literal["landed"] = Field(description="Flown.")
    actual_departure_time_est: str = Field(description="Departure, YYYY-MM-DDTHH:MM:SS EST.")
    actual_arrival_time_est: str = Field(description="Arrival, YYYY-MM-DDTHH:MM:SS EST.")


class DateCancelled(_Record):
    """A flight date that was cancelled."""

    status: Literal["cancelled"] = Field(description="Cancelled by the airline.")


class DateDelayed(_Record):
    """A flight date running late."""

    status: Literal["delayed"] = Field(description="Delayed.")
    estimated_departure_time_est: str = Field(description="Expected departure, EST.")
    estimated_arrival_time_est: str = Field(description="Expected arrival, EST.")


class DateFlying(_Record):
    """A flight date in the air now."""

    status: Literal["flying"] = Field(description="In the air.")
    actual_departure_time_est: str = Field(description="Departure, EST.")
    estimated_arrival_time_est: str = Field(description="Expected arrival, EST.")


class DateOnTime(_Record):
    """A flight date today, on schedule."""

    status: Literal["on time"] = Field(description="On schedule.")
    estimated_departure_time_est: str = Field(description="Expected departure, EST.")
    estimated_arrival_time_est: str = Field(description="Expected arrival, EST.")


FlightDate = Annotated[
    DateAvailable | DateLanded | DateCancelled | DateDelayed | DateFlying | DateOnTime,
    Field(discriminator="status"),
]


class Flight(_Record):
    """A scheduled flight and its status on each date it operates."""

    flight_number: str = Field(description="Flight number, e.g. 'HAT001'.")
    origin: str = Field(description="IATA code of the origin airport.")
    destination: str = Field(description="IATA code of the destination airport.")
    scheduled_departure_time_est: str = Field(description="HH:MM:SS EST.")
    scheduled_arrival_time_est: str = Field(description="HH:MM:SS EST, '+1' if next day.")
    dates: dict[str, FlightDate] = Field(description="Status by date (YYYY-MM-DD).")


class ReservationFlight(_Record):
    """One flight segment of a reservation, at the price paid per passenger."""

    flight_number: str = Field(description="Flight number.")
    origin: str = Field(description="Origin IATA code.")
    destination: str = Field(description="Destination IATA code.")
    date: str = Field(description="Date flown, YYYY-MM-DD.")
    price: int = Field(description="Price per passenger, whole USD.")


class User(_Record):
    """A customer of the airline."""

    user_id: str = Field(description="User id, e.g. 'sara_doe_496'.")
    name: Name = Field(description="Full name.")
    address: Address = Field(description="Home address.")
    email: str = Field(description="Email address.")
    dob: str = Field(description="Date of birth, YYYY-MM-DD.")
    payment_methods: dict[str, PaymentMethod] = Field(description="Payment methods by id.")
    saved_passengers: list[Passenger] = Field(description="Passengers saved in the profile.")
    membership: Membership = Field(description="Membership tier.")
    reservations: list[str] = Field(description="Reservation ids of the user.")


class Reservation(_Record):
    """A booking: its flights, passengers, payments, bags and insurance."""

    reservation_id: str = Field(description="Reservation id, six characters.")
    user_id: str = Field(description="Owner of the reservation.")
    origin: str = Field(description="Trip origin IATA code.")
    destination: str = Field(description="Trip destination IATA code.")
    flight_type: FlightType = Field(description="one_way or round_trip.")
    cabin: CabinClass = Field(description="Cabin of every segment.")
    flights: list[ReservationFlight] = Field(description="Flight segments.")
    passengers: list[Passenger] = Field(description="Travellers.")
    payment_history: list[Payment] = Field(description="Payments and refunds, in order.")
    created_at: str = Field(description="Booking time, YYYY-MM-DDTHH:MM:SS.")
    total_baggages: int = Field(description="Checked bags in all.")
    nonfree_baggages: int = Field(description="Checked bags paid for.")
    insurance: Insurance = Field(description="Whether travel insurance was bought.")
    status: Literal["cancelled"] | None = Field(
        default=None, description="'cancelled', or None while active."
    )


class AirlineDB(_Record):
    """The whole Airline world: flights, users, reservations (tau2's db.json)."""

    flights: dict[str, Flight] = Field(description="Flights by flight number.")
    users: dict[str, User] = Field(description="Users by user id.")
    reservations: dict[str, Reservation] = Field(description="Reservations by id.")
