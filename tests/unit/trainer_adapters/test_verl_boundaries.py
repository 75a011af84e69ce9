"""taskforge never imports verl or vllm; the adapter's data side needs neither."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:verl|vllm)\b", re.MULTILINE)
TOP_LEVEL_IMPORT = re.compile(r"^(?:import|from)\s+(?:verl|vllm)\b", re.MULTILINE)


def test_the_core_package_never_imports_verl_or_vllm() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "taskforge").rglob("*.py"))
        if IMPORT.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_only_the_verl_side_of_the_adapter_imports_verl_when_loaded() -> None:
    adapter = REPO / "trainer_adapters" / "verl"
    text = {p.name: p.read_text(encoding="utf-8") for p in adapter.glob("*.py")}
    importing = {name for name, code in text.items() if TOP_LEVEL_IMPORT.search(code)}
    assert importing == {"agent_loop.py", "tools.py"}


def test_cli_export_and_reward_load_without_verl() -> None:
    code = (
        "import sys\n"
        "import taskforge.cli.app, taskforge.warehouse.ingest.verl\n"
        "import trainer_adapters.verl.export, trainer_adapters.verl.launch\n"
        "import trainer_adapters.verl.reward, trainer_adapters.verl.episode_log\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('verl', 'vllm', 'torch'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
