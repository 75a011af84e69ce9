"""Messages and tool calls: a superset of tau2's simulation message format."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned

Role = Literal["system", "user", "assistant", "tool"]
Requestor = Literal["user", "assistant"]


class ToolCall(Contract):
    """One function call requested by the agent (or by the user, in domains with user tools)."""

    id: str = Field(default="", description="Identifier linking the call to its tool message.")
    name: str = Field(description="Name of the tool being called.")
    arguments: dict[str, Any] = Field(description="Arguments of the call, decoded from JSON.")
    requestor: Requestor = Field(
        default="assistant", description="Who requested the call: 'assistant' or 'user'."
    )
    raw_arguments: str | None = Field(
        default=None,
        description="taskforge: the model's argument string when it was not valid JSON "
        "(arguments is then empty and the environment answers with an error).",
    )


class Message(Contract):
    """One turn of a conversation: system, user, assistant or tool output."""

    model_config = versioned("Message")

    role: Role = Field(description="Sender of the message.")
    content: str | None = Field(default=None, description="Text content, if any.")
    tool_calls: list[ToolCall] | None = Field(
        default=None, description="Tool calls requested in this turn (user or assistant)."
    )
    id: str | None = Field(
        default=None, description="For tool messages: the id of the call this answers."
    )
    requestor: Requestor | None = Field(
        default=None, description="For tool messages: who requested the call."
    )
    error: bool | None = Field(
        default=None, description="For tool messages: whether the tool call failed."
    )
    turn_idx: int | None = Field(default=None, description="Index of the turn in the dialogue.")
    timestamp: str | None = Field(default=None, description="ISO time the message was made.")
    cost: float | None = Field(default=None, description="Cost in USD of generating the turn.")
    usage: dict[str, Any] | None = Field(
        default=None, description="Token usage reported by the provider."
    )
    raw_data: dict[str, Any] | None = Field(
        default=None, description="Raw provider response for the turn."
    )
    reasoning: Any | None = Field(default=None, description="Reasoning trace, if recorded.")
    errors: Any | None = Field(default=None, description="Errors recorded while generating.")
    is_audio: bool | None = Field(default=None, description="tau2 voice: whether audio.")
    generation_time_seconds: float | None = Field(
        default=None, description="Seconds the model took to produce the turn."
    )
    contains_speech: bool | None = Field(default=None, description="tau2 voice: speech flag.")
    chunk_id: int | None = Field(default=None, description="tau2 streaming: chunk index.")
    is_final_chunk: bool | None = Field(default=None, description="tau2 streaming: last chunk.")
    source: str | None = Field(default=None, description="tau2 streaming: content source.")
    utterance_ids: list[str] | None = Field(
        default=None, description="tau2 streaming: utterance ids."
    )
    turn_taking_action: dict[str, Any] | None = Field(
        default=None, description="tau2 full duplex: turn-taking action."
    )
    audio_format: dict[str, Any] | None = Field(
        default=None, description="tau2 voice: format of the audio (encoding, rate, channels)."
    )
    audio_content: str | None = Field(
        default=None,
        description="tau2 voice: base64 audio bytes (tau2 does not write them; kept if present).",
    )
    audio_path: str | None = Field(
        default=None, description="tau2 voice: path of the audio file of the message."
    )
    audio_script_gold: str | None = Field(
        default=None, description="tau2 voice: the script the audio was spoken from."
    )
    speech_effects: dict[str, Any] | None = Field(
        default=None, description="tau2 voice: speech effects applied to the speaker's voice."
    )
    source_effects: dict[str, Any] | None = Field(
        default=None, description="tau2 voice: acoustic environment (source) effects."
    )
    channel_effects: dict[str, Any] | None = Field(
        default=None, description="tau2 voice: transmission channel effects."
    )
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )

    @model_validator(mode="after")
    def _tool_messages_have_ids(self) -> Message:
        if self.role == "tool" and self.id is None:
            raise ValueError("a tool message needs the 'id' of the call it answers")
        return self

    def has_tool_calls(self) -> bool:
        """True when the message requests at least one tool call."""
        return bool(self.tool_calls)
