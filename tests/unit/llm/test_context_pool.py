"""The local server's context pool: which context a prompt goes to (no model needed)."""

from __future__ import annotations

from typing import Any

from taskforge.llm.context_pool import MIN_SHARED, ContextPool, choose, shared_prefix


class FakeContext:
    """A stand-in for ``llama_cpp.Llama``: one token per character, and the tokens it holds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._input_ids: list[int] = []

    def tokenize(self, text: bytes, special: bool = False) -> list[int]:
        return list(text)

    def evaluate(self, prompt: str) -> None:
        self._input_ids = self.tokenize(prompt.encode())


def _pool(size: int) -> tuple[ContextPool, list[FakeContext]]:
    made: list[FakeContext] = []

    def factory(first: Any) -> FakeContext:
        made.append(FakeContext(f"ctx{len(made) + 1}"))
        return made[-1]

    return ContextPool(FakeContext("ctx0"), size, factory), made


def _play(pool: ContextPool, prompt: str) -> str:
    context = pool.pick(prompt)
    context.evaluate(prompt)
    return str(context.name)


POLICY = "P" * 200
USER = "U" * 200
JUDGE = "J" * 200


def test_shared_prefix_counts_leading_equal_tokens() -> None:
    assert shared_prefix([1, 2, 3, 4], [1, 2, 9, 4]) == 2
    assert shared_prefix([1, 2], [1, 2, 3]) == 2
    assert shared_prefix([], [1]) == 0


def test_choose_prefers_the_longest_prefix_then_a_new_context_then_the_oldest() -> None:
    assert choose([MIN_SHARED, MIN_SHARED + 5], [1, 2], room=True) == 1
    assert choose([MIN_SHARED - 1, 0], [1, 2], room=True) is None
    assert choose([MIN_SHARED - 1, 0], [5, 2], room=False) == 1
    assert choose([0, 0], [5, 0], room=True) == 1  # a context never used before a new one


def test_each_stream_keeps_its_context_across_alternating_turns() -> None:
    pool, made = _pool(4)
    turns = [POLICY + "a", USER + "a", POLICY + "ab", USER + "ab", POLICY + "abc"]
    names = [_play(pool, p) for p in turns]
    assert names == ["ctx0", "ctx1", "ctx0", "ctx1", "ctx0"]
    assert len(made) == 1  # the second stream made the one new context


def test_a_new_stream_in_a_full_pool_takes_the_least_recently_used_context() -> None:
    pool, _ = _pool(2)
    assert [_play(pool, p) for p in (POLICY, USER, POLICY + "x")] == ["ctx0", "ctx1", "ctx0"]
    assert _play(pool, JUDGE) == "ctx1"  # the user's context was used longest ago
    assert _play(pool, POLICY + "xy") == "ctx0"  # the policy's prefix is still there


def test_a_pool_of_one_is_the_servers_context() -> None:
    pool, made = _pool(1)
    assert {_play(pool, p) for p in (POLICY, USER, JUDGE)} == {"ctx0"} and not made


class FakeLlama(FakeContext):
    """A context that completes: it holds the prompt's tokens afterwards, as llama.cpp does."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.prompts: list[str] = []

    def create_completion(self, prompt: str, **_: Any) -> dict[str, Any]:
        self.prompts.append(prompt)
        self.evaluate(prompt)
        usage = {"prompt_tokens": len(prompt), "completion_tokens": 2}
        return {"choices": [{"text": "ok", "finish_reason": "stop"}], "usage": usage}


def test_the_servers_handler_sends_each_role_to_its_own_context() -> None:
    from taskforge.llm.local_server import pooled_handler

    made: list[FakeLlama] = []
    server_llama = FakeLlama("server")
    handler = pooled_handler(4, lambda first: made.append(FakeLlama("extra")) or made[-1])
    policy = [{"role": "system", "content": "You are the agent. " + "policy " * 40}]
    user = [{"role": "system", "content": "You are the customer. " + "story " * 40}]
    for turn in range(3):
        history = [{"role": "user", "content": f"turn {turn}"}]
        assert handler(server_llama, policy + history)["choices"][0]["message"]["content"] == "ok"
        handler(server_llama, user + history)
    assert len(made) == 1
    assert all("policy" in p for p in server_llama.prompts) and len(server_llama.prompts) == 3
    assert all("story" in p for p in made[0].prompts) and len(made[0].prompts) == 3
