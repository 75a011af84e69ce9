"""``taskforge db``: synthetic Retail DBs."""

from __future__ import annotations

from pathlib import Path

import typer

from taskforge.cli.common import JSON_OPTION, App, console, emit_json, fail
from taskforge.contracts.io import read_json
from taskforge.domains import DEFAULT_DOMAIN, get_domain

app = App(help="Synthetic domain databases.", no_args_is_help=True)


@app.command(
    "generate",
    epilog="Example: taskforge db generate --out db.json --seed 1 --users 20 --orders 40 --json",
)
def generate(
    out: Path = typer.Option(..., "--out", help="Where to write the DB JSON."),
    seed: int = typer.Option(0, "--seed", help="Random seed; same arguments give the same bytes."),
    users: int = typer.Option(120, "--users", min=1, help="Number of users."),
    orders: int = typer.Option(240, "--orders", min=1, help="Number of orders."),
    products: int = typer.Option(24, "--products", min=1, help="Number of product types."),
    disjoint_from: Path | None = typer.Option(
        None, "--disjoint-from", help="Reference DB (e.g. tau2's db.json) to stay disjoint from."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a valid Retail DB whose ids, names and emails are disjoint from a reference."""
    generator = get_domain(DEFAULT_DOMAIN).generator_module()
    generate_db, write_db = generator.generate_db, generator.write_db
    reference = read_json(disjoint_from) if disjoint_from is not None else None
    if reference is not None and not isinstance(reference, dict):
        fail(f"{disjoint_from}: expected a DB JSON object")
    try:
        data = generate_db(seed, users, orders, products, reference)
    except ValueError as exc:
        fail(str(exc))
    db = get_domain(DEFAULT_DOMAIN).database_cls.from_dict(data, source="generated DB")
    write_db(data, out)
    stats = {t: len(recs) for t, recs in db.tables.items()}
    if as_json:
        emit_json({"out": str(out), "db_hash": db.hash, **stats})
    else:
        console.print(f"wrote {out}: {stats}, hash {db.hash}")
