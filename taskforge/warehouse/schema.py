"""Warehouse DDL, derived from the contracts, with a schema version and migrations.

Columns that mirror a contract field take their DuckDB type from the field's annotation
(:func:`column`), so a contract change shows up here; nested values are stored as JSON.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel

from taskforge.contracts import Message, PoolEntry, Run, Task, TaskPool, Trajectory

SCHEMA_VERSION = 7
"""Version of the warehouse layout (not of the contracts); bump it with a migration."""

EMBEDDING_DIM = 384
"""Dimension of the default embedding model (all-MiniLM-L6-v2)."""


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
}


def duck_type(annotation: Any) -> str:
    """DuckDB type for a contract field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return duck_type(args[0]) if len(args) == 1 else "JSON"
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return "VARCHAR"
    scalars = {str: "VARCHAR", int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN"}
    if annotation in scalars:
        return scalars[annotation]
    return "JSON"


def column(model: type[BaseModel], name: str, as_name: str | None = None) -> tuple[str, str]:
    """(column name, DuckDB type) for a contract field."""
    return (as_name or name, duck_type(model.model_fields[name].annotation))


@dataclass(frozen=True)
class TableDef:
    """A warehouse table: columns in order, an optional primary key, a description."""

    name: str
    columns: list[tuple[str, str]]
    doc: str
    primary_key: tuple[str, ...] = field(default_factory=tuple)

    def ddl(self) -> str:
        """CREATE TABLE statement."""
        cols = [f"{n} {t}" for n, t in self.columns]
        if self.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  " + ",\n  ".join(cols) + "\n)"

    @property
    def column_names(self) -> list[str]:
        """Names of the columns, in order."""
        return [n for n, _ in self.columns]

    def arrow(self, columns: dict[str, list[Any]]) -> pa.Table:
        """An Arrow table of this table's columns, typed (no type inference, which is slow)."""
        types = dict(self.columns)
        return pa.table(
            {
                name: pa.array(values, type=_ARROW_TYPES.get(types[name], pa.string()))
                for name, values in columns.items()
            }
        )


_POOL_V2_COLUMNS = [
    column(PoolEntry, "pattern"),
    column(PoolEntry, "status"),
    column(PoolEntry, "reason"),
    column(PoolEntry, "pass_rate"),
    column(PoolEntry, "n_trials"),
]
"""Columns schema v2 added to task_pools (appended, so old and new files share the order)."""

_MESSAGE_V4_COLUMNS = [
    column(Message, "id", "tool_call_id"),
    column(Message, "requestor"),
    column(Message, "error"),
]
"""Columns schema v4 added to messages: a tool message's call id, requestor and error flag
(before v4 they were in ``extra``; the migration copies them out)."""

TABLES: list[TableDef] = [
    TableDef(
        "runs",
        [
            column(Run, "run_id"),
            column(Run, "source"),
            column(Run, "agent_model"),
            column(Run, "user_model"),
            column(Run, "domain"),
            column(Run, "env_version"),
            column(Run, "round"),
            column(Run, "created_at"),
            column(Run, "config"),
            ("source_path", "VARCHAR"),
            ("ingested_at", "TIMESTAMP"),
        ],
        "One batch of episodes (a tau2 results file, a rollout, a verl step).",
        ("run_id",),
    ),
    TableDef(
        "tasks",
        [
            ("task_uid", "VARCHAR"),
            column(Task, "id", "task_id"),
            ("domain", "VARCHAR"),
            column(Task, "origin"),
            column(Task, "pattern"),
            ("round", "BIGINT"),
            column(Task, "lineage"),
            column(Task, "certificate"),
            column(Task, "user_scenario"),
            column(Task, "evaluation_criteria"),
            ("task", "JSON"),
        ],
        "Tasks, keyed by content (task_uid); lineage and certificate of generated ones.",
        ("task_uid",),
    ),
    TableDef(
        "run_tasks",
        [("run_id", "VARCHAR"), ("task_id", "VARCHAR"), ("task_uid", "VARCHAR")],
        "Which task (by content) a run meant by a task id.",
        ("run_id", "task_id"),
    ),
    TableDef(
        "trajectories",
        [
            ("traj_uid", "VARCHAR"),
            ("run_id", "VARCHAR"),
            ("task_uid", "VARCHAR"),
            column(Trajectory, "task_id"),
            column(Trajectory, "id", "sim_id"),
            column(Trajectory, "trial"),
            column(Trajectory, "seed"),
            ("reward", "DOUBLE"),
            ("reward_breakdown", "JSON"),
            ("db_match", "BOOLEAN"),
            column(Trajectory, "termination_reason"),
            ("n_messages", "INTEGER"),
            ("n_turns", "INTEGER"),
            ("n_tool_calls", "INTEGER"),
            ("n_tool_errors", "INTEGER"),
            ("n_write_calls", "INTEGER"),
            ("prompt_tokens", "BIGINT"),
            ("completion_tokens", "BIGINT"),
            column(Trajectory, "agent_cost"),
            column(Trajectory, "user_cost"),
            column(Trajectory, "duration"),
            column(Trajectory, "start_time"),
            column(Trajectory, "error_modes"),
            ("first_divergent_write", "JSON"),
            column(Trajectory, "reward_info"),
            ("extra", "JSON"),
        ],
        "One row per episode: reward and its breakdown, termination, counts, tokens, cost.",
        ("traj_uid",),
    ),
    TableDef(
        "messages",
        [
            ("traj_uid", "VARCHAR"),
            ("idx", "INTEGER"),
            ("role", "VARCHAR"),
            ("content", "VARCHAR"),
            ("turn_idx", "INTEGER"),
            ("timestamp", "VARCHAR"),
            ("cost", "DOUBLE"),
            ("prompt_tokens", "BIGINT"),
            ("completion_tokens", "BIGINT"),
            ("n_tool_calls", "INTEGER"),
            ("extra", "JSON"),
            *_MESSAGE_V4_COLUMNS,
        ],
        "Every message of every episode, in order (other fields kept in extra).",
    ),
    TableDef(
        "tool_calls",
        [
            ("traj_uid", "VARCHAR"),
            ("msg_idx", "INTEGER"),
            ("call_idx", "INTEGER"),
            ("call_id", "VARCHAR"),
            ("name", "VARCHAR"),
            ("arguments", "JSON"),
            ("requestor", "VARCHAR"),
            ("result", "VARCHAR"),
            ("is_error", "BOOLEAN"),
            ("tool_type", "VARCHAR"),
        ],
        "Every tool call, its arguments (JSON), result, error flag and read/write kind.",
    ),
    TableDef(
        "judgments",
        [
            ("judgment_id", "VARCHAR"),
            ("traj_uid", "VARCHAR"),
            ("judge", "VARCHAR"),
            ("model", "VARCHAR"),
            ("prompt_version", "VARCHAR"),
            ("category", "VARCHAR"),
            ("blame", "VARCHAR"),
            ("decisive_step", "INTEGER"),
            ("explanation", "VARCHAR"),
            ("evidence", "JSON"),
            ("structured", "JSON"),
            ("created_at", "TIMESTAMP"),
        ],
        "Why a failed episode failed, according to a judge.",
        ("judgment_id",),
    ),
    TableDef(
        "embeddings",
        [
            ("text_hash", "VARCHAR"),
            ("model", "VARCHAR"),
            ("vector", f"FLOAT[{EMBEDDING_DIM}]"),
            ("created_at", "TIMESTAMP"),
        ],
        "Embedding cache keyed by text hash and model.",
        ("text_hash", "model"),
    ),
    TableDef(
        "taxonomies",
        [
            ("taxonomy_id", "VARCHAR"),
            ("version", "INTEGER"),
            ("round", "INTEGER"),
            ("config", "JSON"),
            ("created_at", "TIMESTAMP"),
        ],
        "One failure taxonomy per mining run.",
        ("taxonomy_id",),
    ),
    TableDef(
        "patterns",
        [
            ("pattern_id", "VARCHAR"),
            ("taxonomy_id", "VARCHAR"),
            ("lineage_id", "VARCHAR"),
            ("name", "VARCHAR"),
            ("description", "VARCHAR"),
            ("size", "INTEGER"),
            ("exemplars", "JSON"),
            ("signature", "JSON"),
            ("quarantined", "BOOLEAN"),
        ],
        "Failure patterns of a taxonomy; lineage_id keeps identity across versions.",
        ("pattern_id",),
    ),
    TableDef(
        "assignments",
        [
            ("judgment_id", "VARCHAR"),
            ("taxonomy_id", "VARCHAR"),
            ("pattern_id", "VARCHAR"),
            ("distance", "DOUBLE"),
            ("is_outlier", "BOOLEAN"),
        ],
        "Which pattern each judgment belongs to, per taxonomy.",
        ("judgment_id", "taxonomy_id"),
    ),
    TableDef(
        "task_pools",
        [
            ("pool", "VARCHAR"),
            ("round", "INTEGER"),
            ("task_uid", "VARCHAR"),
            ("added_at", "TIMESTAMP"),
            *_POOL_V2_COLUMNS,
        ],
        "Task pools per round: every candidate task, whether it is offered and why not.",
        ("pool", "round", "task_uid"),
    ),
    TableDef(
        "pool_rounds",
        [
            column(TaskPool, "name", "pool"),
            ("round", "INTEGER"),
            column(TaskPool, "mode"),
            column(TaskPool, "domain"),
            column(TaskPool, "curriculum"),
            column(TaskPool, "config"),
            column(TaskPool, "commands"),
            ("created_at", "TIMESTAMP"),
        ],
        "One row per pool round: its mode, curriculum, config and the commands that made it.",
        ("pool", "round"),
    ),
    TableDef(
        "verifications",
        [
            ("task_uid", "VARCHAR"),
            ("verifier_version", "VARCHAR"),
            ("accepted", "BOOLEAN"),
            ("reason", "VARCHAR"),
            ("certificate", "JSON"),
            ("created_at", "TIMESTAMP"),
        ],
        "Verifier verdicts on candidate tasks (accepted or not, and why).",
        ("task_uid", "verifier_version"),
    ),
    TableDef(
        "loop_stages",
        [
            ("loop_id", "VARCHAR"),
            ("round", "INTEGER"),
            ("stage", "VARCHAR"),
            ("status", "VARCHAR"),
            ("config_hash", "VARCHAR"),
            ("outputs", "JSON"),
            ("started_at", "TIMESTAMP"),
            ("finished_at", "TIMESTAMP"),
        ],
        "Stages of `taskforge loop` per round: status and outputs, so a rerun resumes.",
        ("loop_id", "round", "stage"),
    ),
    TableDef(
        "quarantine",
        [
            ("source_path", "VARCHAR"),
            ("record_index", "INTEGER"),
            ("record_id", "VARCHAR"),
            ("reason", "VARCHAR"),
            ("record", "JSON"),
            ("ingested_at", "TIMESTAMP"),
        ],
        "Records that failed validation under --skip-bad, with the reason.",
    ),
    TableDef(
        "ingested_files",
        [
            ("path", "VARCHAR"),
            ("content_hash", "VARCHAR"),
            ("adapter", "VARCHAR"),
            ("n_trajectories", "INTEGER"),
            ("n_new", "INTEGER"),
            ("ingested_at", "TIMESTAMP"),
            ("n_quarantined", "INTEGER"),
        ],
        "Every file ingested (path + content hash), so folders of shards ingest only what is new; "
        "a file with quarantined records (n_quarantined > 0) is read again by the next ingest.",
        ("path", "content_hash"),
    ),
    TableDef(
        "source_layouts",
        [
            ("run_id", "VARCHAR"),
            ("source_path", "VARCHAR"),
            ("format", "VARCHAR"),
            ("layout", "JSON"),
        ],
        "How a run's source file was written (tau2: its top level, key orders, explicit nulls, "
        "JSON formatting), so `taskforge export tau2-results` gives the same bytes back.",
        ("run_id",),
    ),
]

TABLE_BY_NAME = {t.name: t for t in TABLES}

MIGRATIONS: dict[int, list[str]] = {
    1: [t.ddl() for t in TABLES],
    2: [
        *(f"ALTER TABLE task_pools ADD COLUMN IF NOT EXISTS {n} {t}" for n, t in _POOL_V2_COLUMNS),
        TABLE_BY_NAME["pool_rounds"].ddl(),
    ],
    3: [TABLE_BY_NAME["loop_stages"].ddl()],
    4: [
        *(f"ALTER TABLE messages ADD COLUMN IF NOT EXISTS {n} {t}" for n, t in _MESSAGE_V4_COLUMNS),
        "UPDATE messages SET tool_call_id = extra->>'id', requestor = extra->>'requestor', "
        "error = (extra->>'error')::BOOLEAN WHERE extra IS NOT NULL AND tool_call_id IS NULL",
    ],
    5: [
        "ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS n_quarantined INTEGER",
        "UPDATE ingested_files SET n_quarantined = (SELECT count(*) FROM quarantine q "
        "WHERE q.source_path = ingested_files.path) WHERE n_quarantined IS NULL",
    ],
    6: [],  # task keys normalised: taskforge.warehouse.rekey.rekey_tasks re-keys the rows
    7: [TABLE_BY_NAME["source_layouts"].ddl()],
}
"""Statements that bring a warehouse from version N-1 to N (1 creates everything at the newest
layout, so later steps must be no-ops on a new file: IF NOT EXISTS)."""
