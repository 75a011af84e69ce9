"""The base checkpoint TRL trains from: a GGUF file turned, once, into a plain HF folder.

transformers loads a GGUF file dequantized (float32) but leaves the model marked as quantized:
TRL refuses to train it and ``save_pretrained`` refuses to save it. :func:`prepare_base`
clears those marks, saves a plain checkpoint (weights, config, tokenizer) under a cache folder
keyed by the GGUF's content hash, and returns that folder; later calls find it there. TRL then
trains from a folder it can also reload (a KL reference model needs one).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from taskforge.errors import TaskforgeError
from taskforge.mining.embed import quiet_transformers

MARKER = "taskforge_base.json"
"""Written last into a prepared folder: its presence means the folder is complete."""


class CheckpointError(TaskforgeError):
    """The model cannot be prepared (one-line message)."""


def default_cache_dir() -> Path:
    """Where prepared checkpoints are kept: ``$TASKFORGE_CACHE/trl_cpu`` or ``~/.cache``."""
    root = os.environ.get("TASKFORGE_CACHE") or Path.home() / ".cache" / "taskforge"
    return Path(root) / "trl_cpu"


def resolve_model(model: str | Path | None) -> Path:
    """The model path: ``model``, or the bundled SmolLM2 GGUF file when None.

    Raises:
        CheckpointError: the path does not exist.
    """
    if model is None:
        from taskforge.llm.local import default_model_path

        return default_model_path()
    path = Path(model).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path}: no such model file or folder (a GGUF file or HF folder)")
    return path


def prepare_base(model: str | Path | None, cache_dir: Path | None = None) -> Path:
    """A plain Hugging Face checkpoint folder for ``model``.

    Args:
        model: A GGUF file, a Hugging Face checkpoint folder (returned as it is), or None for
            the bundled SmolLM2-135M-Instruct GGUF.
        cache_dir: Where converted checkpoints are kept (default :func:`default_cache_dir`).

    Returns:
        The folder (``config.json``, ``*.safetensors``, tokenizer files).

    Raises:
        CheckpointError: the path is neither a GGUF file nor a checkpoint folder.
    """
    path = resolve_model(model)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise CheckpointError(f"{path}: no config.json (not a Hugging Face checkpoint folder)")
        return path
    if path.suffix.lower() != ".gguf":
        raise CheckpointError(f"{path}: expected a .gguf file or a Hugging Face folder")
    digest = file_digest(path)
    target = (cache_dir or default_cache_dir()) / f"{path.stem}-{digest[:16]}"
    if (target / MARKER).is_file():
        return target
    _convert(path, target, digest)
    return target


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (read in 4 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _convert(gguf: Path, target: Path, digest: str) -> None:
    """Load the GGUF with transformers, clear the quantization marks, save atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    unmark_quantized(model)
    align_special_tokens(tokenizer, model)
    model = model.float()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        seconds = round(time.perf_counter() - start, 2)
        info = {"source": str(gguf), "sha256": digest, "seconds": seconds}
        (tmp / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # an incomplete earlier attempt
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def unmark_quantized(model: Any) -> None:
    """Make a dequantized GGUF model a plain one (trainable, savable)."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def align_special_tokens(tokenizer: Any, model: Any) -> None:
    """Give the tokenizer the model's end-of-sequence and padding tokens.

    transformers' GGUF loader can leave the tokenizer's ``eos_token`` on another special
    token than the one the model ends a turn with (SmolLM2: ``<|im_start|>`` vs
    ``<|im_end|>``), and no pad token; TRL masks completions by the tokenizer's eos.
    """
    eos_id = model.generation_config.eos_token_id or model.config.eos_token_id
    if isinstance(eos_id, list):
        eos_id = eos_id[0] if eos_id else None
    if eos_id is None:
        return
    eos = tokenizer.convert_ids_to_tokens(int(eos_id))
    tokenizer.eos_token = eos
    if tokenizer.pad_token is None:
        tokenizer.pad_token = eos


def prepared_info(folder: Path) -> dict[str, Any]:
    """What :func:`prepare_base` recorded about a converted folder (empty for an HF folder)."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return {}
    data: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
    return data
