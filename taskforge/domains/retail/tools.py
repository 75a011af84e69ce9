"""The Retail toolkit: tau2-bench's 16 Retail tools, with the same names, arguments and effects.

Descriptions are taskforge's own words. One deliberate difference from tau2:
``modify_pending_order_items`` gives every modified item the price and options of *its own*
new variant (tau2 gives all of them the last new variant's, tau2-bench issues 317/318).
DB-match verdicts do not change, because gold and agent calls go through the same tool.
"""

from __future__ import annotations

import ast
import json
import operator
from typing import Any, ClassVar

from taskforge.env.db import Record
from taskforge.env.toolkit import ToolError, Toolkit, ToolType, tool

CANCEL_REASONS = ("no longer needed", "ordered by mistake")
REQUIRED_ORDER_STATUS = {
    "cancel_pending_order": "pending",
    "modify_pending_order_address": "pending",
    "modify_pending_order_items": "pending",
    "modify_pending_order_payment": "pending",
    "return_delivered_order_items": "delivered",
    "exchange_delivered_order_items": "delivered",
}
"""The order status each order-writing tool requires. The address and payment tools also
accept 'pending (item modified)' (they test for 'pending' in the status), as tau2's do."""
LOOSE_PENDING_TOOLS = frozenset({"modify_pending_order_address", "modify_pending_order_payment"})


class RetailTools(Toolkit):
    """Tools of a Retail customer-service agent acting on one episode's DB."""

    doc_terms: ClassVar[dict[str, str]] = {
        "ORDER_ID": "Order id, starting with '#', e.g. '#W0000000'.",
        "PAYMENT_ID": "Payment method id, e.g. 'credit_card_0000000' or 'gift_card_0000000'.",
        "USER_ID": "User id, e.g. 'sara_doe_496'.",
    }

    # -- lookups shared by the tools ---------------------------------------------------------

    def _order(self, order_id: str) -> Record:
        order = self.state.get("orders", order_id)
        if order is None:
            raise ToolError("Order not found")
        return order

    def _user(self, user_id: str) -> Record:
        user = self.state.get("users", user_id)
        if user is None:
            raise ToolError("User not found")
        return user

    def _product(self, product_id: str) -> Record:
        product = self.state.get("products", product_id)
        if product is None:
            raise ToolError("Product not found")
        return product

    def _variant(self, product_id: str, item_id: str) -> Record:
        variant = self._product(product_id)["variants"].get(item_id)
        if variant is None:
            raise ToolError("Variant not found")
        return variant

    def _payment_method(self, user_id: str, payment_method_id: str) -> Record:
        method = self._user(user_id)["payment_methods"].get(payment_method_id)
        if method is None:
            raise ToolError("Payment method not found")
        return method

    def _edit_payment_method(self, user_id: str, payment_method_id: str) -> Record:
        self._payment_method(user_id, payment_method_id)
        return self.state.edit("users", user_id)["payment_methods"][payment_method_id]

    @staticmethod
    def _check_items_present(order: Record, item_ids: list[str], message: str) -> None:
        held = [item["item_id"] for item in order["items"]]
        for item_id in item_ids:
            if item_ids.count(item_id) > held.count(item_id):
                raise ToolError(message.format(item_id=item_id))

    def _price_difference(
        self, order: Record, item_ids: list[str], new_ids: list[str], forbid_same: bool = False
    ) -> float:
        if len(item_ids) != len(new_ids):
            raise ToolError("The number of items to be exchanged should match")
        diff: float = 0
        for item_id, new_id in zip(item_ids, new_ids, strict=True):
            if forbid_same and item_id == new_id:
                raise ToolError("The new item id should be different from the old item id")
            item = next((i for i in order["items"] if i["item_id"] == item_id), None)
            if item is None:
                raise ToolError(f"Item {item_id} not found")
            variant = self._variant(item["product_id"], new_id)
            if not variant["available"]:
                raise ToolError(f"New item {new_id} not found or available")
            diff += variant["price"] - item["price"]
        return diff

    # -- generic ------------------------------------------------------------------------------

    @tool(ToolType.GENERIC)
    def calculate(self, expression: str) -> str:
        """Evaluate an arithmetic expression and return the result rounded to two decimals.

        Args:
            expression: The expression to evaluate, e.g. '12.5 * 3 - 4'. Only numbers, + - * /,
                parentheses and spaces are allowed.
        """
        if not all(ch in "0123456789+-*/(). " for ch in expression):
            raise ToolError("Invalid characters in expression")
        return str(round(float(_evaluate_arithmetic(expression)), 2))

    @tool(ToolType.GENERIC)
    def transfer_to_human_agents(self, summary: str) -> str:
        """Hand the conversation over to a human agent, passing a summary of the case.

        Use it only when the user asks for a human, or when the request cannot be handled
        with these tools under the policy.

        Args:
            summary: A short summary of what the user needs.
        """
        return "Transfer successful"

    # -- reads --------------------------------------------------------------------------------

    @tool(ToolType.READ)
    def find_user_id_by_email(self, email: str) -> str:
        """Look up a user's id from their email address (case-insensitive).

        Args:
            email: The user's email address, e.g. 'jane.roe@example.com'.
        """
        wanted = email.lower()
        for user_id, user in self.state.items("users"):
            if user["email"].lower() == wanted:
                return user_id
        raise ToolError("User not found")

    @tool(ToolType.READ)
    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        """Look up a user's id from their full name and zip code.

        Prefer the email lookup; use this one when the user cannot give an email that works.

        Args:
            first_name: First name, e.g. 'Jane' (case-insensitive).
            last_name: Last name, e.g. 'Roe' (case-insensitive).
            zip: Zip code of the user's default address, e.g. '02139'.
        """
        first, last = first_name.lower(), last_name.lower()
        for user_id, user in self.state.items("users"):
            name = user["name"]
            if (
                name["first_name"].lower() == first
                and name["last_name"].lower() == last
                and user["address"]["zip"] == zip
            ):
                return user_id
        raise ToolError("User not found")

    @tool(ToolType.READ)
    def get_order_details(self, order_id: str) -> Record:
        """Return an order: status, items, shipping address, fulfillments and payments.

        Args:
            order_id: $ORDER_ID
        """
        return self._order(order_id)

    @tool(ToolType.READ)
    def get_product_details(self, product_id: str) -> Record:
        """Return a product with all its variants (item ids, options, availability, price).

        Args:
            product_id: Product id, ten digits, e.g. '6086499569'. Not the same as an item id.
        """
        return self._product(product_id)

    @tool(ToolType.READ)
    def get_item_details(self, item_id: str) -> Record:
        """Return one item (a product variant): its options, availability and price.

        Args:
            item_id: Item id, ten digits, e.g. '1008292230'. Not the same as a product id.
        """
        for _, product in self.state.items("products"):
            variant = product["variants"].get(item_id)
            if variant is not None:
                return variant
        raise ToolError("Item not found")

    @tool(ToolType.READ)
    def get_user_details(self, user_id: str) -> Record:
        """Return a user's profile: name, address, email, payment methods and order ids.

        Args:
            user_id: $USER_ID
        """
        return self._user(user_id)

    @tool(ToolType.READ)
    def list_all_product_types(self) -> str:
        """List every product type as a JSON object from product name to product id.

        Each product type has several items (variants) with their own item ids and options.
        """
        names = {p["name"]: p["product_id"] for _, p in self.state.items("products")}
        return json.dumps(names, sort_keys=True)

    # -- writes -------------------------------------------------------------------------------

    @tool(ToolType.WRITE)
    def cancel_pending_order(self, order_id: str, reason: str) -> Record:
        """Cancel a pending order and refund its payments.

        Gift card payments are refunded to the card at once; other methods take 5-7 business
        days. List the details and get an explicit 'yes' from the user before calling.

        Args:
            order_id: $ORDER_ID
            reason: Either 'no longer needed' or 'ordered by mistake'.
        """
        if self._order(order_id)["status"] != "pending":
            raise ToolError("Non-pending order cannot be cancelled")
        if reason not in CANCEL_REASONS:
            raise ToolError("Invalid reason")
        order = self.state.edit("orders", order_id)
        refunds = []
        for payment in order["payment_history"]:
            method_id, amount = payment["payment_method_id"], payment["amount"]
            refunds.append(_payment("refund", amount, method_id))
            if self._payment_method(order["user_id"], method_id)["source"] == "gift_card":
                card = self._edit_payment_method(order["user_id"], method_id)
                card["balance"] = round(card["balance"] + amount, 2)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        order["payment_history"].extend(refunds)
        return order

    @tool(ToolType.WRITE)
    def exchange_delivered_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> Record:
        """Request an exchange of delivered items for other variants of the same products.

        A delivered order can be returned or exchanged only once. List the details and get an
        explicit 'yes' from the user before calling.

        Args:
            order_id: $ORDER_ID
            item_ids: Items of the order to exchange, e.g. ['1008292230']; repeat an id to
                exchange several units of it.
            new_item_ids: The replacement items, position by position, each a variant of the
                same product as the item it replaces.
            payment_method_id: $PAYMENT_ID It pays or receives the price difference.
        """
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ToolError("Non-delivered order cannot be exchanged")
        self._check_items_present(order, item_ids, "Number of {item_id} not found.")
        diff = round(self._price_difference(order, item_ids, new_item_ids), 2)
        method = self._payment_method(order["user_id"], payment_method_id)
        if method["source"] == "gift_card" and method["balance"] < diff:
            raise ToolError("Insufficient gift card balance to pay for the price difference")
        order = self.state.edit("orders", order_id)
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(item_ids)
        order["exchange_new_items"] = sorted(new_item_ids)
        order["exchange_payment_method_id"] = payment_method_id
        order["exchange_price_difference"] = diff
        return order

    @tool(ToolType.WRITE)
    def modify_pending_order_address(
        self,
        order_id: str,
        address1: str,
        address2: str,
        city: str,
        state: str,
        country: str,
        zip: str,
    ) -> Record:
        """Change the shipping address of a pending order.

        List the details and get an explicit 'yes' from the user before calling.

        Args:
            order_id: $ORDER_ID
            address1: Street address, e.g. '12 Elm Street'.
            address2: Apartment, suite or unit, e.g. 'Apt 4', or ''.
            city: City, e.g. 'Portland'.
            state: State code, e.g. 'OR'.
            country: Country, e.g. 'USA'.
            zip: Zip code, e.g. '97201'.
        """
        if "pending" not in self._order(order_id)["status"]:
            raise ToolError("Non-pending order cannot be modified")
        order = self.state.edit("orders", order_id)
        order["address"] = _address(address1, address2, city, state, country, zip)
        return order

    @tool(ToolType.WRITE)
    def modify_pending_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> Record:
        """Swap items of a pending order for other variants of the same products.

        This can be done only once per order, so collect every change first. List the details
        and get an explicit 'yes' from the user before calling.

        Args:
            order_id: $ORDER_ID
            item_ids: Items of the order to change, e.g. ['1008292230']; repeat an id to change
                several units of it.
            new_item_ids: The new items, position by position, each a different variant of the
                same product as the item it replaces.
            payment_method_id: $PAYMENT_ID It pays or receives the price difference.
        """
        order = self._order(order_id)
        if order["status"] != "pending":
            raise ToolError("Non-pending order cannot be modified")
        self._check_items_present(order, item_ids, "{item_id} not found")
        diff = self._price_difference(order, item_ids, new_item_ids, forbid_same=True)
        method = self._payment_method(order["user_id"], payment_method_id)
        if method["source"] == "gift_card" and method["balance"] < diff:
            raise ToolError("Insufficient gift card balance to pay for the new item")
        order = self.state.edit("orders", order_id)
        kind = "payment" if diff > 0 else "refund"
        order["payment_history"].append(_payment(kind, abs(diff), payment_method_id))
        if method["source"] == "gift_card":
            card = self._edit_payment_method(order["user_id"], payment_method_id)
            card["balance"] = round(card["balance"] - diff, 2)
        self._swap_items(order, item_ids, new_item_ids)
        order["status"] = "pending (item modified)"
        return order

    def _swap_items(self, order: Record, item_ids: list[str], new_item_ids: list[str]) -> None:
        for item_id, new_id in zip(item_ids, new_item_ids, strict=True):
            item = next(i for i in order["items"] if i["item_id"] == item_id)
            variant = self._variant(item["product_id"], new_id)
            item["item_id"] = new_id
            item["price"] = variant["price"]
            item["options"] = dict(variant["options"])

    @tool(ToolType.WRITE)
    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> Record:
        """Pay for a pending order with a different payment method.

        The order must have exactly one payment, and a gift card must cover the full amount.
        List the details and get an explicit 'yes' from the user before calling.

        Args:
            order_id: $ORDER_ID
            payment_method_id: $PAYMENT_ID The new method for the order.
        """
        order = self._order(order_id)
        if "pending" not in order["status"]:
            raise ToolError("Non-pending order cannot be modified")
        method = self._payment_method(order["user_id"], payment_method_id)
        history = order["payment_history"]
        if len(history) != 1 or history[0]["transaction_type"] != "payment":
            raise ToolError("There should be exactly one payment for a pending order")
        old_id, amount = history[0]["payment_method_id"], history[0]["amount"]
        if old_id == payment_method_id:
            raise ToolError("The new payment method should be different from the current one")
        if method["source"] == "gift_card" and method["balance"] < amount:
            raise ToolError("Insufficient gift card balance to pay for the order")
        order = self.state.edit("orders", order_id)
        order["payment_history"].append(_payment("payment", amount, payment_method_id))
        order["payment_history"].append(_payment("refund", amount, old_id))
        self._adjust_gift_card(order["user_id"], payment_method_id, -amount)
        self._adjust_gift_card(order["user_id"], old_id, amount)
        return order

    def _adjust_gift_card(self, user_id: str, method_id: str, amount: float) -> None:
        if self._payment_method(user_id, method_id)["source"] == "gift_card":
            card = self._edit_payment_method(user_id, method_id)
            card["balance"] = round(card["balance"] + amount, 2)

    @tool(ToolType.WRITE)
    def modify_user_address(
        self,
        user_id: str,
        address1: str,
        address2: str,
        city: str,
        state: str,
        country: str,
        zip: str,
    ) -> Record:
        """Change a user's default address.

        List the details and get an explicit 'yes' from the user before calling.

        Args:
            user_id: $USER_ID
            address1: Street address, e.g. '12 Elm Street'.
            address2: Apartment, suite or unit, e.g. 'Apt 4', or ''.
            city: City, e.g. 'Portland'.
            state: State code, e.g. 'OR'.
            country: Country, e.g. 'USA'.
            zip: Zip code, e.g. '97201'.
        """
        self._user(user_id)
        user = self.state.edit("users", user_id)
        user["address"] = _address(address1, address2, city, state, country, zip)
        return user

    @tool(ToolType.WRITE)
    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str
    ) -> Record:
        """Request a return of delivered items; the user then gets return instructions by email.

        The refund goes to the original payment method or to a gift card of the user. A
        delivered order can be returned or exchanged only once. List the details and get an
        explicit 'yes' from the user before calling.

        Args:
            order_id: $ORDER_ID
            item_ids: Items to return, e.g. ['1008292230']; repeat an id to return several
                units of it.
            payment_method_id: $PAYMENT_ID It receives the refund.
        """
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ToolError("Non-delivered order cannot be returned")
        method = self._payment_method(order["user_id"], payment_method_id)
        original = order["payment_history"][0]["payment_method_id"]
        if method["source"] != "gift_card" and payment_method_id != original:
            raise ToolError("Payment method should be the original payment method")
        self._check_items_present(order, item_ids, "Some item not found")
        order = self.state.edit("orders", order_id)
        order["status"] = "return requested"
        order["return_items"] = sorted(item_ids)
        order["return_payment_method_id"] = payment_method_id
        return order


def _payment(kind: str, amount: float, method_id: str) -> Record:
    return {"transaction_type": kind, "amount": amount, "payment_method_id": method_id}


def _address(address1: str, address2: str, city: str, state: str, country: str, zip: str) -> Record:
    return {
        "address1": address1,
        "address2": address2,
        "city": city,
        "country": country,
        "state": state,
        "zip": zip,
    }


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_MAX_EXPONENT = 1000


def _evaluate_arithmetic(expression: str) -> float:
    """Evaluate what tau2's calculator accepts (+ - * / // ** and parentheses) without eval()."""
    try:
        tree = ast.parse(expression, mode="eval")
        return _eval_node(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (SyntaxError, ValueError, TypeError) as exc:
        raise ToolError(f"Invalid expression: {exc}") from None


def _eval_node(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval_node(node.left), _eval_node(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValueError("exponent too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval_node(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError("only numbers, + - * / and parentheses are allowed")
