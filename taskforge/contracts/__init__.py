"""taskforge data contracts: the one source of truth for every record taskforge reads or writes."""

from taskforge.contracts.base import SCHEMA_VERSION, Contract
from taskforge.contracts.export import ExportManifest
from taskforge.contracts.judgment import Blame, FailureCategory, Judgment
from taskforge.contracts.loop import (
    ExecutorSettings,
    LoopConfig,
    MiningSettings,
    SynthesisSettings,
)
from taskforge.contracts.message import Message, Requestor, Role, ToolCall
from taskforge.contracts.pool import Curriculum, PoolEntry, PoolMode, PoolStatus, TaskPool
from taskforge.contracts.reward import (
    ActionCheck,
    CommunicateCheck,
    DBCheck,
    DivergentWrite,
    EnvAssertionCheck,
    FieldDiff,
    NLAssertionCheck,
    RewardInfo,
    StateDiff,
)
from taskforge.contracts.run import JsonlRecord, Run, RunRecord, TaskRecord, TrajectoryRecord
from taskforge.contracts.task import (
    Action,
    Certificate,
    Description,
    EnvAssertion,
    EnvFunctionCall,
    EvaluationCriteria,
    InitializationData,
    InitialState,
    Lineage,
    RewardType,
    StructuredUserInstructions,
    Task,
    TaskIssue,
    UserScenario,
)
from taskforge.contracts.trajectory import Tau2Results, TerminationReason, Trajectory
from taskforge.contracts.verl import VerlEpisode

__all__ = [
    "SCHEMA_VERSION",
    "Action",
    "ActionCheck",
    "Blame",
    "Certificate",
    "CommunicateCheck",
    "Contract",
    "Curriculum",
    "DBCheck",
    "Description",
    "DivergentWrite",
    "EnvAssertion",
    "EnvAssertionCheck",
    "EnvFunctionCall",
    "EvaluationCriteria",
    "ExecutorSettings",
    "ExportManifest",
    "FailureCategory",
    "FieldDiff",
    "InitialState",
    "InitializationData",
    "JsonlRecord",
    "Judgment",
    "Lineage",
    "LoopConfig",
    "Message",
    "MiningSettings",
    "NLAssertionCheck",
    "PoolEntry",
    "PoolMode",
    "PoolStatus",
    "Requestor",
    "RewardInfo",
    "RewardType",
    "Role",
    "Run",
    "RunRecord",
    "StateDiff",
    "StructuredUserInstructions",
    "SynthesisSettings",
    "Task",
    "TaskIssue",
    "TaskPool",
    "TaskRecord",
    "Tau2Results",
    "TerminationReason",
    "ToolCall",
    "Trajectory",
    "TrajectoryRecord",
    "UserScenario",
    "VerlEpisode",
]
