"""``taskforge db``: synthetic domain DBs (Retail, Airline)."""

from __future__ import annotations

from pathlib import Path

import typer

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json, fail
from taskforge.contracts.io import read_json
from taskforge.domains import get_domain

app = App(help="Synthetic domain databases.", no_args_is_help=True)


@app.command(
    "generate",
    epilog="Example: taskforge db generate --out db.json --seed 1 --users 20 --orders 40 --json",
)
def generate(
    out: Path = typer.Option(..., "--out", help="Where to write the DB JSON."),
    seed: int = typer.Option(0, "--seed", help="Random seed; same arguments give the same bytes."),
    users: int | None = typer.Option(None, "--users", min=1, help="Users (default 120)."),
    orders: int | None = typer.Option(
        None, "--orders", min=1, help="Orders (retail; default 240)."
    ),
    products: int | None = typer.Option(
        None, "--products", min=1, help="Product types (retail; default 24)."
    ),
    reservations: int | None = typer.Option(
        None, "--reservations", min=0, help="Reservations (airline; default 400)."
    ),
    flights: int | None = typer.Option(
        None, "--flights", min=2, help="Flights (airline; default 60)."
    ),
    disjoint_from: Path | None = typer.Option(
        None, "--disjoint-from", help="Reference DB (e.g. tau2's db.json) to stay disjoint from."
    ),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a valid DB whose ids, names and emails are disjoint from a reference."""
    dom = get_domain(domain)
    generator = dom.generator_module()
    reference = read_json(disjoint_from) if disjoint_from is not None else None
    if reference is not None and not isinstance(reference, dict):
        fail(f"{disjoint_from}: expected a DB JSON object")
    given = {"users": users, "orders": orders, "products": products,
             "reservations": reservations, "flights": flights}  # fmt: skip
    sizes = _sizes(domain, generator.SIZES, given)
    try:
        data = generator.generate_db(seed, **sizes, reference=reference)
    except ValueError as exc:
        fail(str(exc))
    db = dom.database_cls.from_dict(data, source="generated DB")
    generator.write_db(data, out)
    stats = {t: len(recs) for t, recs in db.tables.items()}
    if as_json:
        emit_json({"out": str(out), "db_hash": db.hash, **stats})
    else:
        console.print(f"wrote {out}: {stats}, hash {db.hash}")


def _sizes(domain: str, defaults: dict[str, int], given: dict[str, int | None]) -> dict[str, int]:
    """The generator's size arguments: its defaults, overridden by the options given."""
    foreign = sorted(k for k, v in given.items() if v is not None and k not in defaults)
    if foreign:
        options = ", ".join(f"--{k}" for k in foreign)
        takes = ", ".join(f"--{k}" for k in defaults)
        fail(f"{options}: not a size of the {domain} generator (it takes {takes})")
    return {k: v if (n := given.get(k)) is None else n for k, v in defaults.items()}
