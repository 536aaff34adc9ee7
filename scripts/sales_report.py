"""Monthly sales report

Totals the month's deals per sales rep for a region and writes the full deal list as a CSV file
to download. For investors and owners.
"""

import csv
import datetime
import os
import random
from pathlib import Path
from typing import Literal

POLICY = ["owner", "investor"]
TIMEOUT_SECONDS = 60
MEMORY_MB = 256

REPS = {
    "north": ["Ana", "Bjorn", "Chiara"],
    "south": ["Dev", "Elif", "Femi"],
    "west": ["Gus", "Hana", "Ines"],
}


def deals_for(region: str, month: datetime.date) -> list[dict]:
    """The month's deals (a stand-in for the CRM export: the same month gives the same deals)."""
    rng = random.Random(f"{region}-{month:%Y-%m}")  # noqa: S311 - sample data, not secrets
    regions = list(REPS) if region == "all" else [region]
    deals = []
    for name in regions:
        for rep in REPS[name]:
            for number in range(rng.randint(3, 8)):
                deals.append(
                    {
                        "deal": f"{name[:1].upper()}-{rep[:2].upper()}-{number + 1:03d}",
                        "region": name,
                        "rep": rep,
                        "day": month.replace(day=rng.randint(1, 28)).isoformat(),
                        "amount": round(rng.uniform(500, 20000), 2),
                    }
                )
    return deals


def main(
    month: datetime.date,
    region: Literal["all", "north", "south", "west"] = "all",
    minimum_amount: float = 0.0,
) -> list[dict]:
    """Total the month's deals per sales rep and write them all to a CSV file.

    Parameters
    ----------
    month : datetime.date
        Month. Any day of the month to report on.
    region : str
        Sales region.
    minimum_amount : float
        Smallest deal. Deals below this amount (in EUR) are left out.
    """
    deals = [d for d in deals_for(region, month) if d["amount"] >= minimum_amount]
    output = Path(os.environ["RBAS_OUTPUT_DIR"]) / f"deals-{region}-{month:%Y-%m}.csv"
    with output.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["deal", "region", "rep", "day", "amount"])
        writer.writeheader()
        writer.writerows(deals)
    totals: dict[str, dict] = {}
    for deal in deals:
        row = totals.setdefault(deal["rep"], {"rep": deal["rep"], "deals": 0, "total": 0.0})
        row["deals"] += 1
        row["total"] = round(row["total"] + deal["amount"], 2)
    print(f"{len(deals)} deals written to {output.name}")
    return sorted(totals.values(), key=lambda row: row["total"], reverse=True)
