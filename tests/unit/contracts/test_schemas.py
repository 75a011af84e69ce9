"""schemas/*.json is generated from the contracts and must not drift."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from taskforge.contracts import SCHEMA_VERSION, Task
from taskforge.contracts.schemas import SCHEMA_MODELS, drifted_schemas, write_schemas

REPO = Path(__file__).resolve().parents[3]


def test_committed_schemas_match_the_contracts() -> None:
    assert drifted_schemas(REPO / "schemas") == [], "run `taskforge schemas generate`"


def test_drift_is_detected(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    assert drifted_schemas(tmp_path) == []
    path = tmp_path / "task.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"].pop("pattern")
    path.write_text(json.dumps(schema))
    (tmp_path / "old.schema.json").write_text("{}")
    assert drifted_schemas(tmp_path) == ["old.schema.json", "task.schema.json"]


def test_every_field_is_described_and_versioned() -> None:
    for name, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema()
        assert schema["x-taskforge-schema-version"] == SCHEMA_VERSION, name
        for sub in [schema, *schema.get("$defs", {}).values()]:
            for field, spec in sub.get("properties", {}).items():
                assert spec.get("description"), f"{name}: {sub.get('title')}.{field}"


def test_schema_validates_a_dumped_task() -> None:
    task = Task.model_validate({"id": "t1", "user_scenario": {"instructions": "hello"}})
    schema = json.loads((REPO / "schemas" / "task.schema.json").read_text())
    jsonschema.validate(task.model_dump(mode="json"), schema)
