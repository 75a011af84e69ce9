"""A pool of llama.cpp contexts over one model: each prompt goes where its prefix already is.

An episode alternates two prompt streams (the policy's and the user's), and mining adds the
judge's, the labeler's and the writer's; every stream's next prompt extends its last one.
llama.cpp keeps the evaluated tokens of its last prompt and evaluates only what a new prompt
adds, so one context per stream evaluates each stream's new tokens only. llama-cpp-python's
own prompt cache does the same with one context by saving and loading its whole state per
call: measured here (py-spy, a 3-episode local rollout), ``save_state`` and ``load_state`` took
28% of the server's time, and each cached state holds the prompt's full logits (n_tokens x
49,152 floats, ~470 MB for a 2,400-token policy prompt), so the server grew to 6-10 GB.

:class:`ContextPool` holds up to ``size`` contexts (made on first need, the first one the
server's own) and routes each prompt to the context whose tokens share the longest prefix with
it; a prompt that shares less than :data:`MIN_SHARED` tokens with every context gets a new
context while there is room, else the least recently used one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

MIN_SHARED = 32
"""Fewer shared tokens than this is another stream (two roles share only ChatML's header)."""


def shared_prefix(held: Sequence[int], tokens: Sequence[int]) -> int:
    """How many leading tokens ``held`` and ``tokens`` have in common."""
    n = 0
    for a, b in zip(held, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n


def choose(shared: Sequence[int], last_used: Sequence[int], room: bool) -> int | None:
    """The context a prompt goes to: the longest shared prefix, else one never used
    (``last_used`` 0), else a new one (None) while there is ``room``, else the least recently
    used (ties: the lowest index)."""
    best = max(range(len(shared)), key=lambda i: (shared[i], -i))
    if shared[best] >= MIN_SHARED:
        return best
    if 0 in last_used:
        return list(last_used).index(0)
    if room:
        return None
    return min(range(len(last_used)), key=lambda i: (last_used[i], i))


class ContextPool:
    """Up to ``size`` llama.cpp contexts; :meth:`pick` routes a prompt to one of them.

    Not thread-safe: the server runs one request at a time.

    Args:
        first: The server's own ``Llama`` (the pool's first context).
        size: The most contexts (1: the server's only).
        factory: Makes another ``Llama`` over the same model (default: :func:`sibling`).
    """

    def __init__(self, first: Any, size: int, factory: Callable[[Any], Any] | None = None):
        self.contexts: list[Any] = [first]
        self.size = max(1, size)
        self._factory = factory or sibling
        self._last_used = [0]
        self._clock = 0

    def pick(self, prompt: str) -> Any:
        """The context for ``prompt`` (made now when the prompt starts a new stream)."""
        tokens = self.contexts[0].tokenize(prompt.encode("utf-8"), special=True)
        shared = [shared_prefix(held_tokens(c), tokens) for c in self.contexts]
        index = choose(shared, self._last_used, room=len(self.contexts) < self.size)
        if index is None:
            self.contexts.append(self._factory(self.contexts[0]))
            self._last_used.append(0)
            index = len(self.contexts) - 1
        self._clock += 1
        self._last_used[index] = self._clock
        return self.contexts[index]


def held_tokens(llama: Any) -> Sequence[int]:
    """The tokens a context has evaluated (its KV cache holds them)."""
    return list(llama._input_ids)  # llama-cpp-python keeps them only there


def sibling(llama: Any) -> Any:
    """Another ``Llama`` over the same GGUF file with the same settings (the weights are
    memory-mapped, so the model's pages are shared; each context adds its KV cache)."""
    from llama_cpp import Llama

    return Llama(
        model_path=llama.model_path,
        n_ctx=llama.n_ctx(),
        n_batch=llama.n_batch,
        n_threads=llama.n_threads,
        n_threads_batch=llama.n_threads_batch,
        seed=llama._seed,
        verbose=False,
    )
