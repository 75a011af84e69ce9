"""Loop config: defaults, YAML with relative paths, overrides, one-line errors, the hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.errors import DataError
from taskforge.loop import config_hash, load_loop_config


def test_defaults_are_offline_and_bundled() -> None:
    config = load_loop_config(None)
    assert config.rounds == 2 and config.mode == "raft" and config.trainer == "none"
    assert config.db is None and config.llm_config is None


def test_yaml_paths_are_relative_to_the_file_and_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("rounds: 3\ndb: data/db.json\nsynthesis: {n_per_pattern: 2}\n")
    config = load_loop_config(path, rounds=5)
    assert config.rounds == 5
    assert config.db == tmp_path / "data" / "db.json"
    assert config.synthesis.n_per_pattern == 2


def test_unknown_or_bad_field_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("rounds: 0\n")
    with pytest.raises(DataError, match=r"loop.yaml: field rounds: "):
        load_loop_config(path)
    path.write_text("synthesis: {n_per_patern: 2}\n")
    with pytest.raises(DataError, match=r"field synthesis.n_per_patern: Extra inputs"):
        load_loop_config(path)
    path.write_text("- a list\n")
    with pytest.raises(DataError, match="expected a mapping"):
        load_loop_config(path)


def test_hash_ignores_the_number_of_rounds_but_not_the_settings() -> None:
    base = load_loop_config(None)
    assert config_hash(base) == config_hash(load_loop_config(None, rounds=7))
    assert config_hash(base) != config_hash(load_loop_config(None, trials=2))


def test_trainer_verl_needs_a_model_and_the_verl_export(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("trainer: verl\n")
    with pytest.raises(DataError, match=r"trainer verl needs training\.model"):
        load_loop_config(path)
    path.write_text("trainer: verl\ntraining: {model: m}\nexports: [hf]\n")
    with pytest.raises(DataError, match="`verl` in exports"):
        load_loop_config(path)
    assert load_loop_config(None, trainer="verl", training={"model": "m"}).trainer == "verl"


def test_trainers_are_found_by_name_or_by_a_dotted_path(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("trainer: nope\n")
    with pytest.raises(DataError, match="unknown trainer 'nope'; known: trl-cpu, verl"):
        load_loop_config(path)
    path.write_text("trainer: 'no.such.module:Trainer'\n")
    with pytest.raises(DataError, match=r"cannot import no\.such\.module:Trainer"):
        load_loop_config(path)
    dotted = "trainer_adapters.verl.trainer:VerlTrainer"
    assert load_loop_config(None, trainer=dotted, training={"model": "m"}).trainer == dotted


def test_executor_settings_load_and_leave_the_loop_identity_alone(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("executor: {kind: ray, address: 'ray://head:10001', num_workers: 8}\n")
    config = load_loop_config(path)
    assert (config.executor.kind, config.executor.address) == ("ray", "ray://head:10001")
    assert config.executor.num_workers == 8 and load_loop_config(None).executor.kind == "local"
    assert config_hash(config) == config_hash(load_loop_config(None))  # same episodes anywhere
    path.write_text("executor: {kind: local, address: auto}\n")
    with pytest.raises(DataError, match=r"field executor: Value error, address is only for"):
        load_loop_config(path)
    path.write_text("executor: {kind: ray, workers: 2}\n")
    with pytest.raises(DataError, match=r"field executor.workers: Extra inputs"):
        load_loop_config(path)
