"""Copy-on-write episode states and the incremental content hash."""

from __future__ import annotations

import json

import pytest

from taskforge.domains.retail import RetailDatabase
from taskforge.errors import DataError


def test_fresh_state_copies_nothing_and_leaves_base_untouched(shipped_db: RetailDatabase) -> None:
    state = shipped_db.fresh()
    order_id = next(iter(shipped_db.tables["orders"]))
    before = json.dumps(shipped_db.tables["orders"][order_id], sort_keys=True)
    state.edit("orders", order_id)["status"] = "cancelled"
    assert state.get("orders", order_id)["status"] == "cancelled"
    assert json.dumps(shipped_db.tables["orders"][order_id], sort_keys=True) == before
    assert shipped_db.fresh().get("orders", order_id)["status"] != "cancelled"
    assert state.changed_keys() == {"orders": [order_id]}


def test_incremental_hash_equals_hash_of_materialised_data(shipped_db: RetailDatabase) -> None:
    state = shipped_db.fresh()
    assert state.hash == shipped_db.hash
    user_id = next(iter(shipped_db.tables["users"]))
    state.edit("users", user_id)["email"] = "changed@example.com"
    state.put("orders", "#W_NEW", {"order_id": "#W_NEW"})
    rebuilt = RetailDatabase(json.loads(json.dumps(state.to_dict())))
    assert state.hash == rebuilt.hash != shipped_db.hash


def test_hash_returns_when_a_change_is_undone(shipped_db: RetailDatabase) -> None:
    state = shipped_db.fresh()
    user_id = next(iter(shipped_db.tables["users"]))
    original = shipped_db.tables["users"][user_id]["address"]["zip"]
    state.edit("users", user_id)["address"]["zip"] = "00000"
    assert state.hash != shipped_db.hash
    state.edit("users", user_id)["address"]["zip"] = original
    assert state.hash == shipped_db.hash


def test_hash_is_stable_across_loads(retail) -> None:  # type: ignore[no-untyped-def]
    a, b = retail.load_db(), retail.load_db()
    assert a.hash == b.hash and len(a.hash) == 32


def test_deleted_records_disappear(shipped_db: RetailDatabase) -> None:
    state = shipped_db.fresh()
    key = next(iter(shipped_db.tables["products"]))
    state.delete("products", key)
    assert state.get("products", key) is None
    assert key not in dict(state.items("products"))
    assert state.hash != shipped_db.hash


def test_invalid_db_names_file_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "db.json"
    path.write_text(json.dumps({"products": {}, "users": {}, "orders": {"#W1": {"order_id": 1}}}))
    with pytest.raises(DataError, match=r"db.json: field orders.#W1.order_id"):
        RetailDatabase.load(path)
    path.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        RetailDatabase.load(path)
