"""The LLM config: defaults, the shipped files, validation and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskforge.errors import DataError
from taskforge.llm import DEFAULT_CONFIG, ROLES, LLMConfig, RoleConfig, load_llm_config
from taskforge.llm.config import packaged_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "llm.yaml"
    path.write_text(text)
    return path


def test_default_config_is_offline() -> None:
    config = load_llm_config(None)
    assert config == DEFAULT_CONFIG
    assert config is not DEFAULT_CONFIG  # a copy: callers may change it
    assert all(config.role(name).is_offline for name in ROLES)
    assert config.policy.model == "taskforge/scripted-policy"
    assert config.user.model == "taskforge/scripted-user"
    assert config.judge.model == "taskforge/diagnostic-judge"
    assert config.labeler.model == "taskforge/keyword-labeler"
    assert config.explorer.model == "taskforge/scripted-explorer"
    assert config.writer.model == "taskforge/template-writer"


def test_shipped_offline_config_equals_the_default() -> None:
    assert load_llm_config(packaged_config("offline")) == DEFAULT_CONFIG


def test_shipped_example_config_loads_and_names_keys_only_by_variable() -> None:
    path = packaged_config("example")
    config = load_llm_config(path)
    assert config.user.api_key_env == "OPENAI_API_KEY"
    assert config.policy.api_base is not None
    assert config.policy.model.startswith(("hosted_vllm/", "openai/"))
    assert not any(config.role(name).is_offline for name in ROLES)
    assert "sk-" not in path.read_text()


def test_importing_taskforge_llm_does_not_import_litellm() -> None:
    code = "import sys, taskforge.llm; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_partial_file_keeps_offline_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "concurrency: 16\ncache_dir: cache\npolicy:\n  model: openai/gpt-4.1-mini\n"
        "  temperature: 0.2\n  api_key_env: OPENAI_API_KEY\n  extra: {top_p: 0.9}\n",
    )
    config = load_llm_config(path)
    assert config.concurrency == 16
    assert config.cache_dir == Path("cache")
    assert config.policy.model == "openai/gpt-4.1-mini"
    assert config.policy.extra == {"top_p": 0.9}
    assert config.user == DEFAULT_CONFIG.user


def test_empty_file_is_the_default(tmp_path: Path) -> None:
    assert load_llm_config(_write(tmp_path, "")) == DEFAULT_CONFIG


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policy:\n  model: openai/x\n  api_key: sk-abcdefghijklmnop\n", "policy.api_key"),
        ("policy:\n  model: openai/x\n  api_key: whatever\n", "api_key_env"),
        ("judge:\n  model: openai/x\n  extra: {headers: {token: abc}}\n", "judge.extra.headers"),
        ("user:\n  model: openai/x\n  api_key_env: sk-abcdefghijklmnop1234\n", "api_key_env"),
        ("writer:\n  model: openai/x\n  extra: {x: sk-proj-abcdefghijklmnop}\n", "writer.extra.x"),
    ],
)
def test_literal_keys_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        load_llm_config(_write(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "llm.yaml") in message
    assert expected in message
    assert "api_key_env" in message
    assert "\n" not in message
    assert "abcdefghijklmnop" not in message  # the secret is not echoed back


def test_literal_key_refused_when_built_in_code() -> None:
    with pytest.raises(ValueError, match="api_key_env"):
        RoleConfig(model="openai/x", **{"api_key": "sk-abcdefghijklmnop"})


def test_api_key_env_must_be_a_variable_name() -> None:
    with pytest.raises(ValueError, match="environment variable name"):
        RoleConfig(model="openai/x", api_key_env="my key")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policy:\n  model: openai/x\n  temperature: -1\n", "field policy.temperature"),
        ("policy:\n  temperature: 0.5\n", "field policy.model"),
        ("policy:\n  model: openai/x\n  top_p: 0.9\n", "field policy.top_p"),
        ("concurrency: 0\n", "field concurrency"),
        ("roles: {}\n", "field roles"),
        ("- policy\n", "expected a mapping"),
        ("policy: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        load_llm_config(_write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(str(tmp_path / "llm.yaml"))
    assert expected in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_llm_config(tmp_path / "absent.yaml")


def test_unknown_role_name() -> None:
    with pytest.raises(DataError, match="unknown LLM role"):
        LLMConfig().role("critic")


def test_fields_are_described() -> None:
    for model in (RoleConfig, LLMConfig):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
