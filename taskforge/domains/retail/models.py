"""Retail DB model: reads and writes tau2's Retail ``db.json`` format unchanged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Variant(_Record):
    """One purchasable variant (item) of a product."""

    item_id: str = Field(description="Item id, ten digits.")
    options: dict[str, str] = Field(description="Option name to value, e.g. color: blue.")
    available: bool = Field(description="Whether the item can be ordered now.")
    price: float = Field(description="Current price in USD.")


class Product(_Record):
    """A product type and its variants."""

    name: str = Field(description="Product name, e.g. 'Water Bottle'.")
    product_id: str = Field(description="Product id, ten digits (never an item id).")
    variants: dict[str, Variant] = Field(description="Variants keyed by item id.")


class UserName(_Record):
    """A person's name."""

    first_name: str = Field(description="First name.")
    last_name: str = Field(description="Last name.")


class UserAddress(_Record):
    """A postal address."""

    address1: str = Field(description="First line.")
    address2: str = Field(description="Second line, may be empty.")
    city: str = Field(description="City.")
    country: str = Field(description="Country.")
    state: str = Field(description="State or province.")
    zip: str = Field(description="Postal code.")


class CreditCard(_Record):
    """A credit card on file."""

    source: Literal["credit_card"] = Field(description="Always 'credit_card'.")
    id: str = Field(description="Payment method id.")
    brand: str = Field(description="Card brand, e.g. visa.")
    last_four: str = Field(description="Last four digits.")


class Paypal(_Record):
    """A PayPal account on file."""

    source: Literal["paypal"] = Field(description="Always 'paypal'.")
    id: str = Field(description="Payment method id.")


class GiftCard(_Record):
    """A gift card with a balance."""

    source: Literal["gift_card"] = Field(description="Always 'gift_card'.")
    id: str = Field(description="Payment method id.")
    balance: float = Field(description="Remaining balance in USD.")


PaymentMethod = CreditCard | GiftCard | Paypal


class User(_Record):
    """A customer."""

    user_id: str = Field(description="User id, e.g. 'sara_doe_496'.")
    name: UserName = Field(description="Full name.")
    address: UserAddress = Field(description="Default address.")
    email: str = Field(description="Email address.")
    payment_methods: dict[str, PaymentMethod] = Field(description="Payment methods keyed by id.")
    orders: list[str] = Field(description="Order ids of the user.")


class OrderFulfillment(_Record):
    """A shipment of some items of an order."""

    tracking_id: list[str] = Field(description="Tracking numbers.")
    item_ids: list[str] = Field(description="Items in the shipment.")


class OrderItem(_Record):
    """An item as ordered (price and options at the time of purchase)."""

    name: str = Field(description="Product name.")
    product_id: str = Field(description="Product id.")
    item_id: str = Field(description="Item id.")
    price: float = Field(description="Price paid.")
    options: dict[str, str] = Field(description="Options of the item.")


class OrderPayment(_Record):
    """A payment or refund on an order."""

    transaction_type: Literal["payment", "refund"] = Field(description="payment or refund.")
    amount: float = Field(description="Amount in USD.")
    payment_method_id: str = Field(description="Payment method used.")


OrderStatus = Literal[
    "processed",
    "pending",
    "pending (item modified)",
    "delivered",
    "cancelled",
    "exchange requested",
    "return requested",
]


class Order(_Record):
    """An order and what has happened to it."""

    order_id: str = Field(description="Order id, e.g. '#W0000000'.")
    user_id: str = Field(description="Owner of the order.")
    address: UserAddress = Field(description="Shipping address.")
    items: list[OrderItem] = Field(description="Ordered items.")
    status: OrderStatus = Field(description="Current status.")
    fulfillments: list[OrderFulfillment] = Field(description="Shipments.")
    payment_history: list[OrderPayment] = Field(description="Payments and refunds.")
    cancel_reason: Literal["no longer needed", "ordered by mistake"] | None = Field(
        default=None, description="Why it was cancelled."
    )
    exchange_items: list[str] | None = Field(default=None, description="Items to exchange.")
    exchange_new_items: list[str] | None = Field(default=None, description="Items wanted.")
    exchange_payment_method_id: str | None = Field(
        default=None, description="Payment method for the exchange difference."
    )
    exchange_price_difference: float | None = Field(
        default=None, description="Price difference of the exchange."
    )
    return_items: list[str] | None = Field(default=None, description="Items to return.")
    return_payment_method_id: str | None = Field(
        default=None, description="Payment method receiving the refund."
    )


class RetailDB(_Record):
    """The whole Retail world: products, users, orders (tau2's db.json)."""

    products: dict[str, Product] = Field(description="Products keyed by product id.")
    users: dict[str, User] = Field(description="Users keyed by user id.")
    orders: dict[str, Order] = Field(description="Orders keyed by order id.")
