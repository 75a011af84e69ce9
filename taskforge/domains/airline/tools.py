"""The Airline toolkit: tau2-bench's 14 Airline tools, same names, arguments, effects, errors.

Descriptions are taskforge's own words. The semantics follow tau2 to the letter, quirks
included, because gold and agent trajectories must reach the same DB states as under tau2:
the clock is fixed at 2024-05-15T15:00:00; new reservations are HATHAT, HATHAU, HATHAV; new
certificates certificate_3221322..4; cancelling refunds every payment line (and leaves gift
card balances and seats as they were); changing flights does not touch seat counts; the
one-stop search takes the second leg's date as ``2024-05-{day + 1}`` (not zero-padded) when
the first leg lands after midnight, and compares times as strings.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any, ClassVar

from taskforge.domains.airline.arguments import FlightInfo, Passenger, Payment, parse_all
from taskforge.domains.airline.models import CabinClass, FlightType, Insurance
from taskforge.env.db import Record
from taskforge.env.toolkit import ToolError, Toolkit, ToolType, tool

NOW = "2024-05-15T15:00:00"
NEW_RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
NEW_CERTIFICATE_IDS = ("certificate_3221322", "certificate_3221323", "certificate_3221324")
INSURANCE_PER_PASSENGER = 30
BAG_FEE = 50
AIRPORTS: tuple[tuple[str, str], ...] = (
    ("SFO", "San Francisco"),
    ("JFK", "New York"),
    ("LAX", "Los Angeles"),
    ("ORD", "Chicago"),
    ("DFW", "Dallas"),
    ("DEN", "Denver"),
    ("SEA", "Seattle"),
    ("ATL", "Atlanta"),
    ("MIA", "Miami"),
    ("BOS", "Boston"),
    ("PHX", "Phoenix"),
    ("IAH", "Houston"),
    ("LAS", "Las Vegas"),
    ("MCO", "Orlando"),
    ("EWR", "Newark"),
    ("CLT", "Charlotte"),
    ("MSP", "Minneapolis"),
    ("DTW", "Detroit"),
    ("PHL", "Philadelphia"),
    ("LGA", "LaGuardia"),
)
"""The airports tau2's ``list_all_airports`` names (generated DBs use only these)."""


class AirlineTools(Toolkit):
    """Tools of an airline customer-service agent acting on one episode's DB."""

    doc_terms: ClassVar[dict[str, str]] = {
        "RESERVATION_ID": "Reservation id, six characters, e.g. 'ZFA04Y'.",
        "USER_ID": "User id, e.g. 'sara_doe_496'.",
        "PAYMENT_ID": "Id of a payment method in the user's profile, e.g. "
        "'credit_card_7815826', 'gift_card_7815826' or 'certificate_7815826'.",
        "AIRPORT": "IATA code of the airport, three letters, e.g. 'JFK'.",
    }

    # -- lookups shared by the tools ---------------------------------------------------------

    def _user(self, user_id: str) -> Record:
        user = self.state.get("users", user_id)
        if user is None:
            raise ToolError(f"User {user_id} not found")
        return user

    def _reservation(self, reservation_id: str) -> Record:
        reservation = self.state.get("reservations", reservation_id)
        if reservation is None:
            raise ToolError(f"Reservation {reservation_id} not found")
        return reservation

    def _flight(self, flight_number: str) -> Record:
        flight = self.state.get("flights", flight_number)
        if flight is None:
            raise ToolError(f"Flight {flight_number} not found")
        return flight

    def _flight_date(self, flight_number: str, date: str) -> Record:
        status: Record | None = self._flight(flight_number)["dates"].get(date)
        if status is None:
            raise ToolError(f"Flight {flight_number} not found on date {date}")
        return status

    def _bookable(self, segment: Record, cabin: str, n_passengers: int) -> Record:
        """A new segment at today's price; errors when not available or full."""
        number, date = segment["flight_number"], segment["date"]
        flight = self._flight(number)
        status = self._flight_date(number, date)
        if status["status"] != "available":
            raise ToolError(f"Flight {number} not available on date {date}")
        if status["available_seats"][cabin] < n_passengers:
            raise ToolError(f"Not enough seats on flight {number}")
        return {
            "flight_number": number,
            "origin": flight["origin"],
            "destination": flight["destination"],
            "date": date,
            "price": status["prices"][cabin],
        }

    def _direct(
        self, date: str, origin: str | None, destination: str | None, leave_after: str | None
    ) -> list[Record]:
        found = []
        for number, flight in self.state.items("flights"):
            status = flight["dates"].get(date)
            if (
                status is None
                or status["status"] != "available"
                or (origin is not None and flight["origin"] != origin)
                or (destination is not None and flight["destination"] != destination)
                or (
                    leave_after is not None and flight["scheduled_departure_time_est"] < leave_after
                )
            ):
                continue
            found.append(_direct_flight(number, flight, status))
        return found

    def _charge_for_update(self, user_id: str, payment_id: str, amount: int) -> Record | None:
        """Charge a change to a card or gift card (never a certificate); the payment line."""
        method = self._user(user_id)["payment_methods"].get(payment_id)
        if method is None:
            raise ToolError("Payment method not found")
        if method["source"] == "certificate":
            raise ToolError("Certificate cannot be used to update reservation")
        if method["source"] == "gift_card":
            if method["amount"] < amount:
                raise ToolError("Gift card balance is not enough")
            card = self.state.edit("users", user_id)["payment_methods"][payment_id]
            card["amount"] -= amount
        return None if amount == 0 else {"payment_id": payment_id, "amount": amount}

    # -- generic ------------------------------------------------------------------------------

    @tool(ToolType.GENERIC)
    def calculate(self, expression: str) -> str:
        """Work out an arithmetic expression; the result is rounded to two decimals.

        Args:
            expression: What to compute, e.g. '3 * 250 + 2 * 50'. Only digits, + - * /,
                parentheses, dots and spaces may appear.
        """
        if not all(ch in "0123456789+-*/(). " for ch in expression):
            raise ToolError("Invalid characters in expression")
        return str(round(float(_arithmetic(expression)), 2))

    @tool(ToolType.GENERIC)
    def transfer_to_human_agents(self, summary: str) -> str:
        """Pass the conversation to a human agent together with a summary of the case.

        Only when the user asks for a human, or when the policy and these tools cannot
        resolve the request.

        Args:
            summary: A short account of what the user needs and what was done so far.
        """
        return "Transfer successful"

    # -- reads --------------------------------------------------------------------------------

    @tool(ToolType.READ)
    def get_user_details(self, user_id: str) -> Record:
        """Return a user's profile: name, address, payment methods, membership, reservations.

        Args:
            user_id: $USER_ID
        """
        return self._user(user_id)

    @tool(ToolType.READ)
    def get_reservation_details(self, reservation_id: str) -> Record:
        """Return a reservation: flights, cabin, passengers, payments, bags and insurance.

        Args:
            reservation_id: $RESERVATION_ID
        """
        return self._reservation(reservation_id)

    @tool(ToolType.READ)
    def get_flight_status(self, flight_number: str, date: str) -> str:
        """Return the status of one flight on one date (available, on time, landed, ...).

        Args:
            flight_number: Flight number, e.g. 'HAT001'.
            date: Date of the flight, YYYY-MM-DD.
        """
        status: str = self._flight_date(flight_number, date)["status"]
        return status

    @tool(ToolType.READ)
    def list_all_airports(self) -> list[Record]:
        """List the airports served, each with its IATA code and city."""
        return [{"iata": iata, "city": city} for iata, city in AIRPORTS]

    @tool(ToolType.READ)
    def search_direct_flight(self, origin: str, destination: str, date: str) -> list[Record]:
        """Find nonstop flights from one airport to another that can be booked on a date.

        Args:
            origin: $AIRPORT
            destination: IATA code of the arrival airport, e.g. 'LAX'.
            date: Travel date, YYYY-MM-DD, e.g. '2024-05-20'.
        """
        return self._direct(date, origin, destination, None)

    @tool(ToolType.READ)
    def search_onestop_flight(self, origin: str, destination: str, date: str) -> list[Any]:
        """Find bookable connections with exactly one stop, as pairs of flights.

        Args:
            origin: $AIRPORT
            destination: IATA code of the final arrival airport, e.g. 'LAX'.
            date: Date of the first flight, YYYY-MM-DD, e.g. '2024-05-20'.
        """
        pairs = []
        for first in self._direct(date, origin, None, None):
            first["date"] = date
            arrival = first["scheduled_arrival_time_est"]
            second_date = f"2024-05-{_day(date) + 1}" if "+1" in arrival else date
            for second in self._direct(second_date, first["destination"], destination, arrival):
                second["date"] = second_date
                pairs.append([first, second])
        return pairs

    # -- writes -------------------------------------------------------------------------------

    @tool(ToolType.WRITE)
    def book_reservation(
        self,
        user_id: str,
        origin: str,
        destination: str,
        flight_type: FlightType,
        cabin: CabinClass,
        flights: list[FlightInfo | dict[str, Any]],
        passengers: list[Passenger | dict[str, Any]],
        payment_methods: list[Payment | dict[str, Any]],
        total_baggages: int,
        nonfree_baggages: int,
        insurance: Insurance,
    ) -> Record:
        """Book a new reservation and charge it to the user's payment methods.

        The charges must add up to the total: seat prices for every passenger on every
        flight, plus insurance per passenger if taken, plus the fee of each paid bag.

        Args:
            user_id: $USER_ID
            origin: IATA code where the trip starts, e.g. 'SFO'.
            destination: IATA code where the trip ends, e.g. 'JFK'.
            flight_type: 'one_way' or 'round_trip'.
            cabin: 'basic_economy', 'economy' or 'business', the same for every flight.
            flights: Every flight of the trip, each as a flight number and a date.
            passengers: Every traveller, each with first name, last name and date of birth.
            payment_methods: The charges, each a payment method id and an amount.
            total_baggages: Checked bags in all.
            nonfree_baggages: Checked bags that are paid for.
            insurance: 'yes' or 'no' for travel insurance.
        """
        segments = parse_all(FlightInfo, flights)
        people = parse_all(Passenger, passengers)
        charges = parse_all(Payment, payment_methods)
        user = self._user(user_id)
        reservation_id = _free_id(NEW_RESERVATION_IDS, self.state.get, "Too many reservations")
        booked = [self._bookable(s, cabin, len(people)) for s in segments]
        total = sum(b["price"] for b in booked) * len(people) + BAG_FEE * nonfree_baggages
        if insurance == "yes":
            total += INSURANCE_PER_PASSENGER * len(people)
        _check_charges(user, charges, total)
        self._take_payments(user_id, charges)
        for segment in segments:
            status = self.state.edit("flights", segment["flight_number"])["dates"]
            status[segment["date"]]["available_seats"][cabin] -= len(people)
        reservation = {
            "reservation_id": reservation_id,
            "user_id": user_id,
            "origin": origin,
            "destination": destination,
            "flight_type": flight_type,
            "cabin": cabin,
            "flights": booked,
            "passengers": people,
            "payment_history": charges,
            "created_at": NOW,
            "total_baggages": total_baggages,
            "nonfree_baggages": nonfree_baggages,
            "insurance": insurance,
            "status": None,
        }
        self.state.put("reservations", reservation_id, reservation)
        self.state.edit("users", user_id)["reservations"].append(reservation_id)
        return reservation

    def _take_payments(self, user_id: str, charges: list[Record]) -> None:
        """Debit gift cards and use up certificates (checks already passed)."""
        for charge in charges:
            methods = self.state.edit("users", user_id)["payment_methods"]
            pid = charge["payment_id"]
            if pid not in methods:  # a certificate named twice: tau2 fails on the second
                raise ToolError(f"'{pid}'")
            if methods[pid]["source"] == "gift_card":
                methods[pid]["amount"] -= charge["amount"]
            elif methods[pid]["source"] == "certificate":
                del methods[pid]

    @tool(ToolType.WRITE)
    def cancel_reservation(self, reservation_id: str) -> Record:
        """Cancel a whole reservation; every payment on it is refunded to its method.

        Check the policy's cancellation rules and get the user's explicit 'yes' first.

        Args:
            reservation_id: $RESERVATION_ID
        """
        self._reservation(reservation_id)
        reservation = self.state.edit("reservations", reservation_id)
        history = reservation["payment_history"]
        history.extend([{"payment_id": p["payment_id"], "amount": -p["amount"]} for p in history])
        reservation["status"] = "cancelled"
        return reservation

    @tool(ToolType.WRITE)
    def send_certificate(self, user_id: str, amount: int) -> str:
        """Give a user a travel certificate worth ``amount`` dollars, as compensation.

        Only in the cases the policy allows, and only after confirming the facts.

        Args:
            user_id: $USER_ID
            amount: Value of the certificate in whole USD.
        """
        methods = self._user(user_id)["payment_methods"]
        for certificate_id in NEW_CERTIFICATE_IDS:
            if certificate_id not in methods:
                new = {"source": "certificate", "id": certificate_id, "amount": float(amount)}
                self.state.edit("users", user_id)["payment_methods"][certificate_id] = new
                return f"Certificate {certificate_id} added to user {user_id} with amount {amount}."
        raise ToolError("Too many certificates")

    @tool(ToolType.WRITE)
    def update_reservation_baggages(
        self, reservation_id: str, total_baggages: int, nonfree_baggages: int, payment_id: str
    ) -> Record:
        """Set the checked bags of a reservation; added paid bags are charged.

        Args:
            reservation_id: $RESERVATION_ID
            total_baggages: The new number of checked bags in all.
            nonfree_baggages: The new number of paid bags.
            payment_id: $PAYMENT_ID It pays the fee of the added paid bags.
        """
        reservation = self._reservation(reservation_id)
        user_id = reservation["user_id"]
        self._user(user_id)
        fee = BAG_FEE * max(0, nonfree_baggages - reservation["nonfree_baggages"])
        payment = self._charge_for_update(user_id, payment_id, fee)
        reservation = self.state.edit("reservations", reservation_id)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["total_baggages"] = total_baggages
        reservation["nonfree_baggages"] = nonfree_baggages
        return reservation

    @tool(ToolType.WRITE)
    def update_reservation_flights(
        self,
        reservation_id: str,
        cabin: CabinClass,
        flights: list[FlightInfo | dict[str, Any]],
        payment_id: str,
    ) -> Record:
        """Replace the flights and cabin of a reservation, paying or refunding the difference.

        Args:
            reservation_id: $RESERVATION_ID
            cabin: The cabin for the whole reservation after the change.
            flights: ALL flights of the reservation after the change, each as a flight number
                and a date, unchanged ones included.
            payment_id: $PAYMENT_ID It pays, or receives, the price difference.
        """
        segments = parse_all(FlightInfo, flights)
        reservation = self._reservation(reservation_id)
        user_id = reservation["user_id"]
        self._user(user_id)
        n = len(reservation["passengers"])
        new_flights = [self._kept_or_new(reservation, s, cabin, n) for s in segments]
        total = sum(f["price"] for f in new_flights) * n
        total -= sum(f["price"] for f in reservation["flights"]) * n
        payment = self._charge_for_update(user_id, payment_id, total)
        reservation = self.state.edit("reservations", reservation_id)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["flights"] = new_flights
        reservation["cabin"] = cabin
        return reservation

    def _kept_or_new(self, reservation: Record, segment: Record, cabin: str, n: int) -> Record:
        """The reservation's own segment if unchanged (same cabin), else a new booking."""
        if cabin == reservation["cabin"]:
            for kept in reservation["flights"]:
                if (kept["flight_number"], kept["date"]) == (
                    segment["flight_number"],
                    segment["date"],
                ):
                    return dict(kept)
        return self._bookable(segment, cabin, n)

    @tool(ToolType.WRITE)
    def update_reservation_passengers(
        self, reservation_id: str, passengers: list[Passenger | dict[str, Any]]
    ) -> Record:
        """Replace the passengers' details of a reservation; their number cannot change.

        Args:
            reservation_id: $RESERVATION_ID
            passengers: Every traveller after the change, each with first name, last name
                and date of birth, in the reservation's order.
        """
        people = parse_all(Passenger, passengers)
        if len(people) != len(self._reservation(reservation_id)["passengers"]):
            raise ToolError("Number of passengers does not match")
        reservation = self.state.edit("reservations", reservation_id)
        reservation["passengers"] = people
        return reservation


def _direct_flight(number: str, flight: Record, status: Record) -> Record:
    return {
        "flight_number": number,
        "origin": flight["origin"],
        "destination": flight["destination"],
        "status": "available",
        "scheduled_departure_time_est": flight["scheduled_departure_time_est"],
        "scheduled_arrival_time_est": flight["scheduled_arrival_time_est"],
        "date": None,
        "available_seats": dict(status["available_seats"]),
        "prices": dict(status["prices"]),
    }


def _day(date: str) -> int:
    try:
        return int(date[-2:])
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def _free_id(candidates: tuple[str, ...], lookup: Callable[[str, str], Any], error: str) -> str:
    for candidate in candidates:
        if lookup("reservations", candidate) is None:
            return candidate
    raise ToolError(error)


def _check_charges(user: Record, charges: list[Record], total: int) -> None:
    """Every method exists, gift cards and certificates cover their share, sums match."""
    for charge in charges:
        pid, amount = charge["payment_id"], charge["amount"]
        method = user["payment_methods"].get(pid)
        if method is None:
            raise ToolError(f"Payment method {pid} not found")
        if method["source"] in ("gift_card", "certificate") and method["amount"] < amount:
            raise ToolError(f"Not enough balance in payment method {pid}")
    paid = sum(c["amount"] for c in charges)
    if paid != total:
        raise ToolError(f"Payment amount does not add up, total price is {total}, but paid {paid}")


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _arithmetic(expression: str) -> float:
    """Evaluate + - * / and parentheses over numbers, without eval()."""
    try:
        return float(_node(ast.parse(expression, mode="eval").body))
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (SyntaxError, ValueError) as exc:
        raise ToolError(f"Invalid expression: {exc}") from None


def _node(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_node(node.left), _node(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _node(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError("only numbers, + - * / and parentheses are allowed")
