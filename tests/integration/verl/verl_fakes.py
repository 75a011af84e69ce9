"""Test doubles for running verl's agent-loop machinery on CPU: a tokenizer trained here (no
download) with a Qwen-style chat template, a tiny model folder, and a fake token server that
replays a scripted Retail episode as token ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = """
{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}
{{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n' }}
{{- 'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}
{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}
{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and ' }}
{{- 'arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n' }}
{{- '{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first)
      or (message.role == 'assistant' and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\\n' + (message.content or '') + '<|im_end|>\\n' }}
{%- elif message.role == 'assistant' %}
{{- '<|im_start|>assistant' }}
{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
{%- for tool_call in message.tool_calls %}
{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
{{- '\\n<tool_call>\\n{"name": "' + tool_call.name + '", "arguments": ' }}
{%- if tool_call.arguments is string %}{{- tool_call.arguments }}
{%- else %}{{- tool_call.arguments | tojson }}{%- endif %}
{{- '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\\n' }}
{%- elif message.role == 'tool' %}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
{{- '<|im_start|>user' }}
{%- endif %}
{{- '\\n<tool_response>\\n' + (message.content or '') + '\\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
""".strip()

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def train_tokenizer(corpus: list[str], vocab_size: int = 2000) -> Any:
    """A byte-level BPE tokenizer trained on ``corpus``, with the chat template (no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
    )


def write_model_folder(folder: Path, tokenizer: Any) -> Path:
    """Tokenizer files and a tiny Qwen2 config.json: what verl reads from a model path (no
    weights: nothing here loads them)."""
    tokenizer.save_pretrained(folder)
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "vocab_size": len(tokenizer),
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 65536,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": True,
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def assistant_text(message: dict[str, Any]) -> str:
    """What a Hermes-format model generates for one assistant message (before its end token)."""
    parts = [message["content"]] if message.get("content") else []
    for call in message.get("tool_calls") or []:
        body = {
            "name": call["function"]["name"],
            "arguments": json.loads(call["function"]["arguments"]),
        }
        parts.append(f"<tool_call>\n{json.dumps(body)}\n</tool_call>")
    return "\n".join(parts)


class ScriptedTokenServer:
    """verl's LLM server interface (``generate``) replaying scripted assistant turns as tokens.

    ``scripts`` maps a task's first user message to the assistant turns of its episode. A new
    request id (one per episode) is matched to its script by the first user message in its
    prompt; later calls of that request get the script's next turns. Every prompt is recorded,
    and ``global_steps`` plays the weights version vLLM reports after a weight sync.
    """

    def __init__(self, tokenizer: Any, scripts: dict[str, list[str]], global_steps: int = 0):
        self.tokenizer = tokenizer
        self.scripts = scripts
        self.global_steps = global_steps
        self.sessions: dict[str, list[str]] = {}
        self.prompts: dict[str, list[list[int]]] = {}

    def _script(self, request_id: str, prompt_ids: list[int]) -> list[str]:
        if request_id not in self.sessions:
            text = self.tokenizer.decode(prompt_ids)
            found = [turns for opening, turns in self.scripts.items() if opening in text]
            assert len(found) == 1, "the prompt holds no (or several) scripted first messages"
            self.sessions[request_id] = list(found[0])
        return self.sessions[request_id]

    async def generate(
        self, request_id: str, *, prompt_ids: list[int], sampling_params: dict[str, Any], **_: Any
    ) -> Any:
        from verl.workers.rollout.replica import TokenOutput

        self.prompts.setdefault(request_id, []).append(list(prompt_ids))
        turns = self._script(request_id, prompt_ids)
        assert turns, "the agent loop asked for more turns than the script has"
        ids = self.tokenizer.encode(turns.pop(0) + "<|im_end|>", add_special_tokens=False)
        steps = {"global_steps": self.global_steps}
        steps |= {"min_global_steps": self.global_steps, "max_global_steps": self.global_steps}
        return TokenOutput(
            token_ids=ids,
            log_probs=[-0.5] * len(ids),
            stop_reason="completed",
            num_preempted=0,
            extra_fields=steps,
        )


class LocalRewardHandle:
    """Stands in for the Ray handle of a reward-loop worker: ``compute_score.remote(data)``
    calls verl's own ``RewardLoopWorker`` in this process."""

    def __init__(self, worker: Any) -> None:
        self.compute_score = self
        self.worker = worker

    def remote(self, data: Any) -> Any:
        return self.worker.compute_score(data)
