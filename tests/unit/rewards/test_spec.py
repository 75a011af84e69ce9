"""Reward specs: presets, YAML/JSON round trips, the spec hash, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from taskforge.errors import DataError
from taskforge.rewards import PRESETS, RewardSpec, component_kinds, dump_spec, load_spec


def test_presets_have_the_documented_components() -> None:
    assert set(PRESETS) == {"raft", "success-only", "no-repeat-penalty"}
    raft = [c.kind for c in PRESETS["raft"].components]
    assert set(raft) == set(component_kinds())
    assert [c.kind for c in PRESETS["success-only"].components] == ["task_success"]
    no_repeat = [c.kind for c in PRESETS["no-repeat-penalty"].components]
    assert no_repeat == [k for k in raft if k != "repeated_calls"]
    assert PRESETS["success-only"].is_sparse and not PRESETS["raft"].is_sparse
    penalties = sum(c.weight for c in PRESETS["raft"].components if c.kind != "task_success")
    assert penalties < 1.0  # any success outranks any failure


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip_through_a_file(tmp_path: Path, fmt: str) -> None:
    for spec in PRESETS.values():
        path = tmp_path / f"{spec.name}.{fmt}"
        path.write_text(dump_spec(spec, fmt))  # type: ignore[arg-type]
        again = load_spec(path)
        assert again == spec
        assert again.spec_hash() == spec.spec_hash()


def test_defaults_are_filled_so_the_hash_does_not_depend_on_spelling(tmp_path: Path) -> None:
    short = {"name": "mine", "components": [{"kind": "repeated_calls", "weight": 0.3}]}
    spelled = {
        "name": "other-name",
        "version": 3,
        "components": [
            {
                "kind": "repeated_calls",
                "weight": 0.3,
                "params": {"max_identical": 2, "consecutive": True, "saturate": 5.0},
            }
        ],
    }
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(short))
    (tmp_path / "b.json").write_text(json.dumps(spelled))
    a, b = load_spec(tmp_path / "a.yaml"), load_spec(tmp_path / "b.json")
    assert a.components[0].params == {"max_identical": 2, "consecutive": True, "saturate": 5.0}
    assert a.spec_hash() == b.spec_hash()  # name and version do not decide a score


def test_spec_hash_is_stable_and_follows_the_weights() -> None:
    raft = PRESETS["raft"]
    assert raft.spec_hash() == load_spec("raft").spec_hash() == load_spec(raft).spec_hash()
    assert len(raft.spec_hash()) == 16
    data = raft.to_json_dict(exclude_unset=False)
    data["components"][1]["weight"] = 0.16
    assert load_spec(RewardSpec.model_validate(data)).spec_hash() != raft.spec_hash()
    data = raft.to_json_dict(exclude_unset=False)
    data["components"][4]["params"]["max_identical"] = 3
    assert RewardSpec.model_validate(data).spec_hash() != raft.spec_hash()
    hashes = {s.spec_hash() for s in PRESETS.values()}
    assert len(hashes) == len(PRESETS)


def _error(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError) as exc:
        load_spec(path)
    message = str(exc.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_bad_spec_files_give_one_line_naming_file_and_field(tmp_path: Path) -> None:
    base = "name: x\ncomponents:\n"
    msg = _error(tmp_path, base + "  - kind: task_success\n    weight: heavy\n")
    assert "field components.0.weight" in msg
    msg = _error(tmp_path, base + "  - kind: vibes\n    weight: 1\n")
    assert "field components.0.kind" in msg and "vibes" in msg and "task_success" in msg
    msg = _error(
        tmp_path,
        base + "  - {kind: task_success, weight: 1}\n"
        "  - {kind: repeated_calls, weight: 0.2, params: {max_identical: many}}\n",
    )
    assert "field components.1.params.max_identical" in msg
    msg = _error(tmp_path, base + "  - {kind: format, weight: 0.1, params: {colour: red}}\n")
    assert "field components.0.params.colour" in msg
    msg = _error(tmp_path, base + "  - {kind: format, weight: 1}\n  - {kind: format, weight: 1}\n")
    assert "two components are named 'format'" in msg
    msg = _error(tmp_path, "name: x\ncomponents: [\n")
    assert "not valid YAML" in msg
    msg = _error(tmp_path, "{", name="spec.json")
    assert "not valid JSON" in msg
    msg = _error(tmp_path, base + "  - {kind: task_success, weight: 1, name: score}\n")
    assert "reserved" in msg


def test_unknown_preset_names_the_presets() -> None:
    with pytest.raises(DataError, match=r"not a reward spec preset .*raft"):
        load_spec("rafts")
