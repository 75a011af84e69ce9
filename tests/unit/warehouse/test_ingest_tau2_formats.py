"""tau2's formats as tau2 writes them (1.0.1 included), unknown fields, and honest quarantine."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Trajectory
from taskforge.errors import DataError
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from taskforge.warehouse.ingest import tau2 as tau2_adapter
from taskforge.warehouse.load import load_trajectories, load_trajectory_records

pytestmark = pytest.mark.shared

PARTICIPANT_FIELDS = {
    "role", "content", "tool_calls", "is_audio", "turn_idx", "timestamp", "cost", "usage",
    "raw_data", "generation_time_seconds", "audio_format", "audio_path", "audio_script_gold",
    "speech_effects", "source_effects", "channel_effects", "turn_taking_action",
    "utterance_ids", "chunk_id", "is_final_chunk", "source", "contains_speech",
}  # fmt: skip
"""What tau2 1.0.1 writes of a user or assistant message (its ParticipantMessageBase)."""
SIMULATION_FIELDS = {
    "id", "task_id", "timestamp", "start_time", "end_time", "duration", "termination_reason",
    "agent_cost", "user_cost", "agent_usage", "reward_info", "messages", "ticks", "trial",
    "seed", "mode", "speech_environment", "review", "user_only_review", "info",
    "auth_classification", "hallucination_retries_used", "hallucination_check",
    "provider_session_id", "policy", "effect_timeline",
}  # fmt: skip
"""What tau2 1.0.1 writes of a simulation (its SimulationRun)."""


@pytest.fixture()
def sample(tau2_sample: Path) -> dict[str, Any]:
    """tau2 1.0.1's own results file (8 gold dialogues, all reward 1)."""
    data: dict[str, Any] = json.loads(tau2_sample.read_text())
    return data


def _write(tmp_path: Path, data: dict[str, Any], name: str = "results.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _ingest(wh: Path, path: Path, skip_bad: bool = False) -> Any:
    return ingest_paths(wh, get_adapter("tau2"), [path], skip_bad)[0]


def _records(wh_path: Path) -> dict[str, dict[str, Any]]:
    """Every stored trajectory as its JSON record, by simulation id."""
    with Warehouse.open(wh_path, read_only=True) as wh:
        uids = [r[0] for r in wh.con.execute("SELECT traj_uid FROM trajectories").fetchall()]
        return {r["id"]: r for r in load_trajectory_records(wh, uids).values()}


def _no_nulls(value: Any) -> Any:
    """``value`` with null-valued keys dropped, recursively: the warehouse reads an explicit null
    and an absent key back alike (absent, or as written inside JSON columns)."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _voiced(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample with every voice and streaming field of its first dialogue set (not null),
    its second user turn streamed as three chunks."""
    data = copy.deepcopy(sample)
    sim = data["simulations"][0]
    for m in sim["messages"]:
        if m["role"] in ("user", "assistant"):
            m |= {
                "is_audio": True,
                "generation_time_seconds": 0.5,
                "audio_format": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},
                "audio_path": "audio/turn.wav",
                "audio_script_gold": m["content"],
                "speech_effects": {"speed": 1.1},
                "source_effects": {"noise": "cafe"},
                "channel_effects": {"codec": "g711"},
                "turn_taking_action": {"action": "respond", "info": None},
                "utterance_ids": ["u1"],
                "source": "tts",
            }
    user = next(i for i, m in enumerate(sim["messages"]) if m["role"] == "user" and i > 1)
    turn = sim["messages"][user]
    chunks = [
        turn | {"content": part, "chunk_id": k, "is_final_chunk": k == 2}
        for k, part in enumerate(["Hello, ", "it is ", ""])
    ]
    sim["messages"][user : user + 1] = chunks
    sim["speech_environment"] = {"environment": "indoor"}
    return data


def test_the_sample_has_every_field_of_tau2_101s_models(sample: dict[str, Any]) -> None:
    sims = sample["simulations"]
    assert all(set(s) == SIMULATION_FIELDS for s in sims)
    said = [m for s in sims for m in s["messages"] if m["role"] in ("user", "assistant")]
    assert said and all(set(m) == PARTICIPANT_FIELDS for m in said)
    for sim in sims:
        assert Trajectory.model_validate(sim).to_json_dict() == sim


def test_tau2_101_results_land_whole_and_read_back(tmp_path: Path, sample: dict[str, Any]) -> None:
    path = _write(tmp_path, sample)
    result = _ingest(tmp_path / "w.duckdb", path)
    assert (result.n_new, result.n_quarantined, result.warnings) == (8, 0, [])
    back = _records(tmp_path / "w.duckdb")
    assert {s["id"]: _no_nulls(s) for s in sample["simulations"]} == _no_nulls(back)


def test_voice_and_chunked_messages_ingest_and_count_as_turns(
    tmp_path: Path, sample: dict[str, Any]
) -> None:
    data = _voiced(sample)
    sim = data["simulations"][0]
    result = _ingest(tmp_path / "w.duckdb", _write(tmp_path, data))
    assert (result.n_new, result.warnings) == (8, [])
    assert _no_nulls(_records(tmp_path / "w.duckdb")[sim["id"]]) == _no_nulls(sim)
    plain = sample["simulations"][0]
    with Warehouse.open(tmp_path / "w.duckdb", read_only=True) as wh:
        n_messages, n_turns = wh.con.execute(
            "SELECT n_messages, n_turns FROM trajectories WHERE sim_id = ?", [sim["id"]]
        ).fetchall()[0]
    said = [m for m in plain["messages"] if m["role"] != "tool" and m["content"]]
    assert n_messages == len(plain["messages"]) + 2  # one turn as three chunk rows
    assert n_turns == len(said)  # ... counted once


def _chunk(base: dict[str, Any], role: str, text: str, chunk: int | None) -> dict[str, Any]:
    """A message of ``role`` (from ``base``'s fields): chunk ``chunk`` of a streamed turn, its
    last when ``chunk`` is 1, or a whole message when None."""
    final = chunk is None or chunk == 1
    return base | {"role": role, "content": text, "chunk_id": chunk, "is_final_chunk": final}


def test_interleaved_chunks_count_once_per_speakers_turn(
    tmp_path: Path, sample: dict[str, Any]
) -> None:
    data = copy.deepcopy(sample)
    first, second = data["simulations"][0], data["simulations"][1]
    base = next(m for m in first["messages"] if m["role"] == "user")
    at = first["messages"].index(base) + 1
    first["messages"][at:at] = [  # the user's turn and the agent's (silent) one, interleaved
        _chunk(base, "user", "Hi, ", 0),
        _chunk(base, "assistant", "", 0),
        _chunk(base, "assistant", "", 1),
        _chunk(base, "user", "it is me", 1),
    ]
    second["messages"] += [  # a user turn never finished, then the agent speaks
        _chunk(base, "user", "Wait", 0),
        _chunk(base, "assistant", "Sure, take your time.", None),
    ]
    assert _ingest(tmp_path / "w.duckdb", _write(tmp_path, data)).n_new == 8
    with Warehouse.open(tmp_path / "w.duckdb", read_only=True) as wh:
        turns = dict(wh.con.execute("SELECT sim_id, n_turns FROM trajectories").fetchall())
    plain = {
        s["id"]: sum(1 for m in s["messages"] if m["role"] != "tool" and m["content"])
        for s in sample["simulations"]
    }
    assert turns[first["id"]] == plain[first["id"]] + 1  # the user's turn; the agent said nothing
    assert turns[second["id"]] == plain[second["id"]] + 2  # the unfinished turn, the answer
    others = set(plain) - {first["id"], second["id"]}
    assert {k: turns[k] for k in others} == {k: plain[k] for k in others}
    back = _records(tmp_path / "w.duckdb")
    assert _no_nulls(back[first["id"]]) == _no_nulls(first)  # every chunk a row, as written


def test_an_unknown_field_warns_and_is_kept(tmp_path: Path, sample: dict[str, Any]) -> None:
    data = copy.deepcopy(sample)
    data["simulations"][3]["messages"][2]["sentiment"] = {"score": 0.3}
    data["simulations"][5]["messages"][1]["sentiment"] = {"score": 0.1}
    data["simulations"][5]["grader_notes"] = "looked fine"
    result = _ingest(tmp_path / "w.duckdb", _write(tmp_path, data))
    assert (result.n_new, result.n_quarantined) == (8, 0)
    first, second = (data["simulations"][i]["id"] for i in (3, 5))
    assert len(result.warnings) == 2
    assert "field messages.*.sentiment" in result.warnings[0]
    assert f"record #3 (id {first!r})" in result.warnings[0]
    assert (
        "field grader_notes" in result.warnings[1] and f"#5 (id {second!r})" in result.warnings[1]
    )
    back = _records(tmp_path / "w.duckdb")
    assert _no_nulls(back[second]) == _no_nulls(data["simulations"][5])
    assert back[first]["messages"][2]["sentiment"] == {"score": 0.3}
    with Warehouse.open(tmp_path / "w.duckdb", read_only=True) as wh:
        uids = [r[0] for r in wh.con.execute("SELECT traj_uid FROM trajectories").fetchall()]
        assert len(load_trajectories(wh, uids)) == 8  # the contract reads what it knows


def _break(data: dict[str, Any], indices: list[int]) -> dict[str, Any]:
    broken = copy.deepcopy(data)
    for i in indices:
        broken["simulations"][i]["termination_reason"] = "handed_off"  # a reason of tomorrow
    return broken


def _upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    """A taskforge that reads tomorrow's termination reason (as an agent stop)."""
    original = tau2_adapter._add_simulation

    def reading(batch: Any, run_id: str, raw: Any, index: int, found: Any) -> None:
        if raw.get("termination_reason") == "handed_off":
            raw = raw | {"termination_reason": "agent_stop"}
        original(batch, run_id, raw, index, found)

    monkeypatch.setattr(tau2_adapter, "_add_simulation", reading)


def _state(wh_path: Path) -> tuple[int, int, list[tuple[Any, ...]]]:
    with Warehouse.open(wh_path, read_only=True) as wh:
        counts = wh.counts()
        files = wh.con.execute("SELECT n_new, n_quarantined FROM ingested_files").fetchall()
    return counts["trajectories"], counts["quarantine"], files


def test_quarantined_records_stay_retryable(
    tmp_path: Path, sample: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, _break(sample, [2, 6]))
    wh = tmp_path / "w.duckdb"
    first = _ingest(wh, path, skip_bad=True)
    assert (first.n_new, first.n_quarantined, first.all_quarantined) == (6, 2, False)
    assert _state(wh) == (6, 2, [(6, 2)])
    with pytest.raises(DataError, match=r"record #2 .*termination_reason"):
        _ingest(wh, path)  # not "already ingested": two of its records never landed
    _upgrade(monkeypatch)
    second = _ingest(wh, path)
    assert (second.already_ingested, second.n_new, second.n_quarantined) == (False, 2, 0)
    assert _state(wh) == (8, 0, [(2, 0)])
    landed = {sim_id for sim_id in _records(wh)}
    assert landed == {s["id"] for s in sample["simulations"]}
    third = _ingest(wh, path)
    assert third.already_ingested and _state(wh) == (8, 0, [(2, 0)])


def test_a_file_with_every_record_quarantined_is_not_landed(
    tmp_path: Path, sample: dict[str, Any]
) -> None:
    path = _write(tmp_path, _break(sample, list(range(8))))
    wh = tmp_path / "w.duckdb"
    result = _ingest(wh, path, skip_bad=True)
    assert result.all_quarantined and (result.n_new, result.n_quarantined) == (0, 8)
    again = _ingest(wh, path, skip_bad=True)
    assert not again.already_ingested and again.all_quarantined
    assert _state(wh) == (0, 8, [(0, 8)])
