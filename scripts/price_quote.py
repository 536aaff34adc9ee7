"""Price quote

Prices a subscription for a customer: plan, seats, start date and add-ons. Annual billing takes
two months off; a valid discount code takes another 10 %. For staff (owners, admins, read/write).
"""

import datetime
from typing import Literal

POLICY = "staff"
TIMEOUT_SECONDS = 20

MONTHLY_PRICE_PER_SEAT = {"starter": 12.0, "team": 25.0, "enterprise": 49.0}
ADDON_MONTHLY_PRICE = {"sso": 4.0, "audit-log": 3.0, "priority-support": 6.0}
DISCOUNT_CODES = {"SPRING10"}


def main(
    customer: str,
    plan: Literal["starter", "team", "enterprise"],
    seats: int,
    start_date: datetime.date,
    addons: list[str] | None = None,
    annual: bool = True,
    discount_code: str = "",
) -> dict:
    """Price the subscription.

    Args:
        customer: Customer. The company the quote is for, as it should appear on the quote.
        plan: Plan.
        seats: Number of seats. One per person who will sign in.
        start_date: Start date. The first day of the subscription.
        addons (list[str]): Add-ons. Any of sso, audit-log and priority-support.
        annual: Annual billing. Twelve months for the price of ten.
        discount_code: Discount code. A valid code takes another 10 % off.
    """
    addons = addons or []
    if seats < 1:
        raise ValueError("seats must be at least 1")
    unknown = sorted(set(addons) - set(ADDON_MONTHLY_PRICE))
    if unknown:
        raise ValueError(f"unknown add-ons: {', '.join(unknown)}")
    per_seat = MONTHLY_PRICE_PER_SEAT[plan] + sum(ADDON_MONTHLY_PRICE[a] for a in addons)
    months = 10 if annual else 1  # annual billing: 12 months for the price of 10
    total = per_seat * seats * months
    if discount_code.upper() in DISCOUNT_CODES:
        total *= 0.9
    end = start_date.replace(year=start_date.year + 1) if annual else start_date
    return {
        "customer": customer,
        "plan": plan,
        "seats": seats,
        "addons": addons,
        "billing": "annual" if annual else "monthly",
        "period": f"{start_date.isoformat()} to {end.isoformat()}",
        "total": round(total, 2),
        "currency": "EUR",
    }
