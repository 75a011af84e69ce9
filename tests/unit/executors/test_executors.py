"""The executor seam: settings, the registry, the local executor, and Ray's lazy import."""

from __future__ import annotations

import sys

import pytest

from taskforge.contracts.loop import ExecutorSettings
from taskforge.errors import DataError
from taskforge.executors import Executor, build_executor, executor_settings, open_executor
from taskforge.executors.local import LocalExecutor
from taskforge.registry import names


def test_local_is_the_default_and_maps_in_order_in_process() -> None:
    with open_executor(ExecutorSettings()) as executor:
        assert isinstance(executor, LocalExecutor) and isinstance(executor, Executor)
        assert executor.in_process and executor.workers() == 1
        assert list(executor.map(lambda x: x * x, [3, 1, 2])) == [9, 1, 4]


def test_both_executors_are_registered() -> None:
    assert names("executor") == ["local", "ray"]


def test_settings_from_the_command_line_fail_in_one_line() -> None:
    assert executor_settings("ray", "auto", 3) == ExecutorSettings(
        kind="ray", address="auto", num_workers=3
    )
    with pytest.raises(DataError, match=r"^--executor: field kind: Input should be 'local' or"):
        executor_settings("dask")
    with pytest.raises(DataError, match="address is only for the ray executor"):
        executor_settings("local", "ray://head:10001")
    with pytest.raises(DataError, match="num_workers"):
        executor_settings("ray", None, -1)


def test_settings_forbid_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        ExecutorSettings.model_validate({"kind": "ray", "gpus": 1})


def test_local_executor_takes_no_address() -> None:
    with pytest.raises(DataError, match="only for the ray executor"):
        LocalExecutor(address="auto")


def test_ray_is_imported_only_when_built_and_missing_ray_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import taskforge.executors.ray_executor as module

    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without ray sees
    with pytest.raises(DataError, match=r"ray is not installed .*pip install 'taskforge\[ray\]'"):
        build_executor(ExecutorSettings(kind="ray"))
    assert module.RayExecutor.name == "ray" and not module.RayExecutor.in_process
