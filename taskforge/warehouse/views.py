"""Standard views and macros: the questions users ask of their trajectories.

They are (re)created when the warehouse is opened read-write and they differ from this code's
(each stored macro's and view's comment carries a hash of them all), so they follow the code;
a read-only connection gets them as temporary views, so it sees this code's views too.
"""

from __future__ import annotations

import hashlib

import duckdb

from taskforge.warehouse.store import run_sql

MACROS = {
    "is_success": "CREATE OR REPLACE MACRO is_success(r) AS coalesce(abs(r - 1.0) <= 1e-6, false)",
    # tau2's estimator comb(c, k) / comb(n, k), through log-gamma (exact 1 when c = n)
    "pass_hat_k": """CREATE OR REPLACE MACRO pass_hat_k(n, c, k) AS
        CASE WHEN n < k THEN NULL WHEN c < k THEN 0.0
        ELSE round(exp(lgamma(c + 1) - lgamma(c - k + 1) - lgamma(n + 1) + lgamma(n - k + 1)), 12)
        END""",
}

VIEWS = {
    "task_trials": """
        SELECT run_id, task_uid, any_value(task_id) AS task_id, count(*) AS n_trials,
               count(*) FILTER (WHERE is_success(reward)) AS n_success,
               avg(coalesce(reward, 0)) AS mean_reward
        FROM trajectories GROUP BY run_id, task_uid""",
    "pass_k_task": """
        SELECT *, pass_hat_k(n_trials, n_success, 1) AS pass_1,
               pass_hat_k(n_trials, n_success, 2) AS pass_2,
               pass_hat_k(n_trials, n_success, 3) AS pass_3,
               pass_hat_k(n_trials, n_success, 4) AS pass_4
        FROM task_trials""",
    # averaged in value order: the same bits whatever order the rows landed in (a rollout
    # lands shard by shard from Ray workers)
    "pass_k_run": """
        SELECT run_id, count(*) AS n_tasks, min(n_trials) AS min_trials,
               sum(n_trials)::BIGINT AS n_trajectories,
               CASE WHEN min(n_trials) >= 1 THEN avg(pass_1 ORDER BY pass_1) END AS pass_1,
               CASE WHEN min(n_trials) >= 2 THEN avg(pass_2 ORDER BY pass_2) END AS pass_2,
               CASE WHEN min(n_trials) >= 3 THEN avg(pass_3 ORDER BY pass_3) END AS pass_3,
               CASE WHEN min(n_trials) >= 4 THEN avg(pass_4 ORDER BY pass_4) END AS pass_4
        FROM pass_k_task GROUP BY run_id""",
    "trajectory_outcomes": """
        SELECT t.traj_uid, t.run_id, t.task_uid, t.task_id, t.trial, t.reward,
               is_success(t.reward) AS success, t.termination_reason,
               coalesce(k.origin, 'unknown') AS origin, coalesce(k.pattern, 'none') AS pattern,
               r.round, r.source, r.agent_model
        FROM trajectories t LEFT JOIN tasks k USING (task_uid) LEFT JOIN runs r USING (run_id)""",
    "success_by_origin": """
        SELECT origin, count(*) AS n, avg(success::INT) AS success_rate
        FROM trajectory_outcomes GROUP BY origin""",
    "success_by_pattern": """
        SELECT pattern, round, count(*) AS n, avg(success::INT) AS success_rate
        FROM trajectory_outcomes GROUP BY pattern, round""",
    "success_by_round": """
        SELECT round, count(*) AS n, avg(success::INT) AS success_rate
        FROM trajectory_outcomes GROUP BY round""",
    "tool_error_rates": """
        SELECT name, any_value(tool_type) AS tool_type, count(*) AS n_calls,
               count(*) FILTER (WHERE is_error) AS n_errors,
               avg(coalesce(is_error, false)::INT) AS error_rate
        FROM tool_calls GROUP BY name""",
    # identical = same tool name and the same arguments (compared through a 64-bit hash)
    "repeated_calls": """
        WITH calls AS (
            SELECT traj_uid, msg_idx, call_idx, hash(name, arguments::VARCHAR) AS h
            FROM tool_calls),
        marked AS (
            SELECT traj_uid, h,
                   lag(h) OVER (PARTITION BY traj_uid ORDER BY msg_idx, call_idx) = h AS same
            FROM calls)
        SELECT traj_uid, count(*) AS n_calls, count(DISTINCT h) AS n_distinct,
               count(*) - count(DISTINCT h) AS n_repeated,
               count(*) FILTER (WHERE same) AS n_consecutive_repeats
        FROM marked GROUP BY traj_uid""",
    "write_calls": """
        SELECT traj_uid, count(*) AS n_write_calls,
               count(*) FILTER (WHERE is_error) AS n_write_errors
        FROM tool_calls WHERE tool_type = 'write' GROUP BY traj_uid""",
    "first_divergent_writes": """
        SELECT traj_uid, run_id, task_id,
               (first_divergent_write->>'index')::INT AS write_index,
               first_divergent_write->'expected'->>'name' AS expected_tool,
               first_divergent_write->'actual'->>'name' AS actual_tool,
               first_divergent_write->>'actual_error' AS actual_error,
               first_divergent_write AS detail
        FROM trajectories WHERE first_divergent_write IS NOT NULL""",
    "latest_taxonomy": """
        SELECT * FROM taxonomies ORDER BY version DESC, created_at DESC LIMIT 1""",
    "pattern_assignments": """
        SELECT x.taxonomy_id, x.version AS taxonomy_version, p.pattern_id, p.lineage_id,
               p.name AS pattern, p.quarantined, a.judgment_id, a.distance, a.is_outlier,
               j.traj_uid, j.category, j.blame, j.explanation, t.run_id, t.task_id, t.round
        FROM assignments a
        JOIN patterns p USING (pattern_id)
        JOIN taxonomies x ON x.taxonomy_id = a.taxonomy_id
        JOIN judgments j USING (judgment_id)
        LEFT JOIN trajectory_outcomes t USING (traj_uid)""",
    # one row per judged failure, with the pattern of the latest taxonomy that assigned it
    "failures": """
        WITH ranked AS (
            SELECT a.judgment_id, a.taxonomy_id, x.version, a.pattern_id, a.is_outlier,
                   a.distance, row_number() OVER (PARTITION BY a.judgment_id
                                                  ORDER BY x.version DESC, x.created_at DESC) AS k
            FROM assignments a JOIN taxonomies x ON x.taxonomy_id = a.taxonomy_id)
        SELECT r.source_path, t.run_id, t.sim_id, t.task_id, t.trial, t.reward,
               t.termination_reason, j.judgment_id, j.judge, j.category, j.blame,
               j.explanation, p.name AS pattern, p.pattern_id, p.lineage_id,
               a.taxonomy_id, a.version AS taxonomy_version, a.is_outlier, a.distance,
               p.quarantined, t.traj_uid
        FROM judgments j
        JOIN trajectories t ON t.traj_uid = j.traj_uid
        LEFT JOIN runs r ON r.run_id = t.run_id
        LEFT JOIN ranked a ON a.judgment_id = j.judgment_id AND a.k = 1
        LEFT JOIN patterns p ON p.pattern_id = a.pattern_id""",
    "failure_rate_by_pattern": """
        WITH per_round AS (SELECT round, count(*) AS n_trajectories
                           FROM trajectory_outcomes GROUP BY round)
        SELECT a.taxonomy_id, a.taxonomy_version, a.lineage_id, a.pattern, a.round,
               count(*) AS n_failures, any_value(r.n_trajectories) AS n_trajectories,
               count(*) / any_value(r.n_trajectories) AS failure_rate
        FROM pattern_assignments a
        LEFT JOIN per_round r ON a.round IS NOT DISTINCT FROM r.round
        GROUP BY ALL""",
    "loop_rounds": """
        SELECT loop_id, round,
               any_value(outputs->>'run_id') FILTER (stage = 'rollout') AS run_id,
               any_value((outputs->'pass_k'->>'1')::DOUBLE) FILTER (stage = 'rollout') AS pass_1,
               any_value((outputs->'pass_k'->>'2')::DOUBLE) FILTER (stage = 'rollout') AS pass_2,
               any_value((outputs->'pass_k'->>'3')::DOUBLE) FILTER (stage = 'rollout') AS pass_3,
               any_value((outputs->'pass_k'->>'4')::DOUBLE) FILTER (stage = 'rollout') AS pass_4,
               any_value(outputs->>'taxonomy_id') FILTER (stage = 'mine') AS taxonomy_id,
               any_value((outputs->>'n_sampled')::INT) FILTER (stage = 'synthesize')
                   AS candidates,
               any_value((outputs->>'acceptance_rate')::DOUBLE) FILTER (stage = 'synthesize')
                   AS acceptance_rate,
               any_value((outputs->>'n_added')::INT) FILTER (stage = 'pool') AS tasks_added,
               any_value((outputs->>'n_total')::INT) FILTER (stage = 'pool') AS pool_size,
               any_value(outputs->>'status') FILTER (stage = 'train') AS train
        FROM loop_stages WHERE round > 0 GROUP BY loop_id, round""",
    "pattern_exemplars": """
        SELECT *, row_number() OVER (PARTITION BY taxonomy_id, pattern_id
                                     ORDER BY is_outlier, distance, judgment_id) AS rank
        FROM pattern_assignments""",
}


def views_stamp() -> str:
    """What every stored macro's and view's comment says: a hash of this code's macros and
    views (replacing one by hand clears its comment)."""
    text = "\n".join([*MACROS.values(), *(f"{n}: {b}" for n, b in VIEWS.items())])
    return "taskforge views " + hashlib.sha256(text.encode()).hexdigest()[:16]


def views_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the stored macros and views are this code's (so opening need not recreate them)."""
    query = (
        "SELECT (SELECT count(*) FROM duckdb_views() WHERE NOT temporary AND comment = $stamp), "
        "(SELECT count(DISTINCT function_name) FROM duckdb_functions() "
        "WHERE NOT internal AND comment = $stamp)"
    )
    views, macros = con.execute(query, {"stamp": views_stamp()}).fetchall()[0]
    return (int(views), int(macros)) == (len(VIEWS), len(MACROS))


def create_views(con: duckdb.DuckDBPyConnection, temporary: bool = False) -> None:
    """Create or replace every macro and view (as temporary ones on a read-only connection)."""
    temp = "TEMP " if temporary else ""
    stamp = views_stamp()
    for name, statement in MACROS.items():
        run_sql(con, statement.replace("CREATE OR REPLACE ", f"CREATE OR REPLACE {temp}", 1))
        if not temporary:
            run_sql(con, f"COMMENT ON MACRO {name} IS '{stamp}'")
    for name, body in VIEWS.items():
        run_sql(con, f"CREATE OR REPLACE {temp}VIEW {name} AS {body}")
        if not temporary:
            run_sql(con, f"COMMENT ON VIEW {name} IS '{stamp}'")
