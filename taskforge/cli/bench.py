"""``taskforge bench``: speed figures as ratios against a baseline measured in the same run."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json, fail
from taskforge.contracts.io import load_tasks
from taskforge.domains import DEFAULT_DOMAIN, get_domain
from taskforge.env.bench import run_env_bench

app = App(help="Benchmarks (ratios against a same-run baseline).", no_args_is_help=True)


@app.command(
    "env",
    epilog="Example: taskforge bench env --tasks datasets/retail/seed_tasks.json "
    "--seconds 1 --json",
)
def env(
    tasks_path: Path = typer.Option(..., "--tasks", help="tasks.json to evaluate."),
    db_path: Path | None = typer.Option(None, "--db", help="DB JSON (default: bundled DB)."),
    seconds: float = typer.Option(2.0, "--seconds", min=0.1, help="Time per measurement."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Full evaluations per second (fresh env + gold replay as trajectory + evaluation)."""
    dom = get_domain(domain)
    tasks = load_tasks(tasks_path)
    if not tasks:
        fail(f"{tasks_path}: no tasks")
    db = dom.load_db(db_path)
    with _one_core() as core, console.status("benchmarking taskforge, then the naive baseline"):
        report = run_env_bench(dom.toolkit_cls, db, tasks, seconds)
    report["cpu_core"] = core
    if as_json:
        emit_json(report)
        return
    ours, base, ratio = report["taskforge"], report["baseline_naive"], report["speedup"]
    console.print(
        f"taskforge: {ours['evals_per_sec']:,.0f} evals/s "
        f"({ours['evals_per_sec_no_gold_cache']:,.0f} without the gold cache), "
        f"fresh env {ours['fresh_env_us']} µs\n"
        f"naive:     {base['evals_per_sec']:,.2f} evals/s, fresh env {base['fresh_env_us']:,} µs, "
        f"full hash {base['full_hash_ms']} ms\n"
        f"speedup:   x{ratio['evals']:,} evals (x{ratio['evals_no_gold_cache']:,} without cache), "
        f"x{ratio['fresh_env']:,} fresh env"
    )


@app.command(
    "warehouse", epilog="Example: taskforge bench warehouse --sizes 1000 --repeat 1 --json"
)
def warehouse(
    sizes: str = typer.Option(
        "10000,100000", "--sizes", help="Comma-separated numbers of synthetic trajectories."
    ),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Where shards and warehouses go (default: a temporary folder)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic data."),
    repeat: int = typer.Option(3, "--repeat", min=1, help="Runs per view (the best counts)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the generated shards and warehouses."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Ingest rate and standard-view latency against json + pandas on the same shards."""
    from taskforge.warehouse.bench import run_warehouse_bench

    try:
        counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        fail(f"--sizes: expected comma-separated integers, got {sizes!r}")
    if not counts or min(counts) < 1:
        fail("--sizes: give at least one positive number of trajectories")
    with console.status("benchmarking the warehouse, then json + pandas"):
        report = run_warehouse_bench(counts, workdir, seed, keep=keep, repeat=repeat)
    if as_json:
        emit_json(report)
        return
    for size, result in report["sizes"].items():
        console.print(_warehouse_table(int(size), result))
    targets = report["targets"]
    console.print(
        f"targets at {targets['size']:,}: ingest >= {targets['ingest_trajectories_per_s']:,.0f} "
        f"traj/s {'[green]ok[/]' if targets['ingest_ok'] else '[red]missed[/]'}, "
        f"every view < {targets['view_max_s']} s "
        f"{'[green]ok[/]' if targets['views_ok'] else '[red]missed[/]'}; "
        f"answers agree with the baseline: {report['agree']}"
    )


def _warehouse_table(size: int, result: dict[str, Any]) -> Table:
    """One size of ``bench warehouse`` as a rich table."""
    table = Table(
        title=f"{size:,} trajectories, {result['n_messages']:,} messages "
        f"(ratio = baseline time / taskforge time)"
    )
    for name in ("measure", "taskforge", "json + pandas", "ratio"):
        table.add_column(name, justify="left" if name == "measure" else "right")
    ingest = result["ingest"]
    ours, base = ingest["taskforge"], ingest["baseline"]
    table.add_row(
        "ingest traj/s",
        f"{ours['trajectories_per_s']:,.0f}",
        f"{base['trajectories_per_s']:,.0f}",
        f"x{ingest['ratio']}",
    )
    table.add_row(
        "ingest msg/s", f"{ours['messages_per_s']:,.0f}", f"{base['messages_per_s']:,.0f}", ""
    )
    for name, view in result["views"].items():
        table.add_row(
            f"view {name} (s)",
            f"{view['taskforge_s']:.4f}",
            f"{view['baseline_s']:.4f}",
            f"x{view['ratio']}",
        )
    return table


@contextmanager
def _one_core() -> Iterator[int | None]:
    """Measure on one core, as the figures are quoted; the affinity is restored afterwards."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        yield min(cores)
    finally:
        os.sched_setaffinity(0, cores)


@app.command(
    "mining",
    epilog="Example: taskforge bench mining --domains retail,airline --embedder hashing --json",
)
def mining(
    bench: list[Path] | None = typer.Option(
        None,
        "--bench",
        help="Labeled failures, repeatable (default: each --domains domain's benchmark under "
        "datasets/failure-bench/ of the repository taskforge is installed from).",
    ),
    domains: str = typer.Option(
        DEFAULT_DOMAIN,
        "--domains",
        help="Comma-separated domains whose benchmarks are mined together (scored per domain, "
        "jointly, and by their span score).",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Only the first N failures per label and domain."
    ),
    embedder: str = typer.Option("minilm", "--embedder", help="minilm | hashing"),
    min_cluster_size: int | None = typer.Option(
        None,
        "--min-cluster-size",
        min=2,
        help="HDBSCAN's (default 10; with --judge llm half the sample's share per label).",
    ),
    judge: str = typer.Option(
        "diagnostic",
        "--judge",
        help="diagnostic: mine the whole benchmark; llm: the config's judge on a sample, "
        "beside the diagnostic judge on the same sample.",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="LLM config whose judge role judges (--judge llm)."
    ),
    local: bool = typer.Option(
        False, "--local", help="Start the local model server for the run and judge with it."
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="CPU threads of the --local server (default: all)."
    ),
    sample: int = typer.Option(60, "--sample", min=2, help="Failures judged (--judge llm)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample (--judge llm)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Mined taxonomy vs the failure benchmark's labels (ARI, NMI, purity), with a baseline.

    With --judge llm a real judge explains a stratified sample instead (--local: the local
    model, started for the run), scored beside the diagnostic judge on the same sample.
    """
    from taskforge.mining.bench import JudgeBenchOptions

    names = _domain_list(domains)
    paths = _bench_paths(bench, names)
    if judge == "llm":
        if len(paths) != 1 or len(names) != 1:
            fail("--judge llm judges one domain's benchmark: give one --domains and --bench")
        if limit is not None:
            fail("--limit goes with --judge diagnostic (--judge llm samples with --sample)")
        if local == (config is not None):
            fail("--judge llm needs exactly one of --config LLM.yaml and --local")
        if threads is not None and not local:
            fail("--threads sets the --local server's threads")
        options = JudgeBenchOptions(sample, seed, embedder, min_cluster_size)
        _mining_llm(paths[0], names[0], config, threads, options, as_json)
        return
    if judge != "diagnostic":
        fail(f"--judge: expected diagnostic or llm, got {judge!r}")
    if local or config is not None or threads is not None:
        fail("--config, --local and --threads go with --judge llm")
    _mining_diagnostic(paths, embedder, min_cluster_size or 10, limit, as_json)


def _domain_list(text: str) -> list[str]:
    """The registered domains of a comma-separated list (a one-line error for unknown ones)."""
    from taskforge.domains import available_domains

    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in available_domains()]
    if not names or unknown:
        fail(f"--domains: expected some of {', '.join(available_domains())}, got {text!r}")
    return names


def _bench_paths(bench: list[Path] | None, domains: list[str]) -> list[Path]:
    """The benchmark shards: the --bench files, else each domain's default benchmark."""
    from taskforge.mining.bench import default_bench_path

    paths = list(bench) if bench else [default_bench_path(d) for d in domains]
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file (generate it with `taskforge bench failures`)")
    return paths


def _mining_diagnostic(
    benches: list[Path], embedder: str, min_cluster_size: int, limit: int | None, as_json: bool
) -> None:
    """``bench mining``: the benchmarks mined together with the diagnostic judge."""
    from taskforge.mining.bench import run_mining_bench

    with console.status("mining the failure benchmark"):
        report = run_mining_bench(benches, embedder, min_cluster_size, limit)
    if as_json:
        emit_json(report)
        return
    ours, base = report["taskforge"], report["baseline_tool_ngrams"]
    console.print(
        f"taskforge: ARI {ours['ari']}, NMI {ours['nmi']}, purity {ours['purity']}, "
        f"noise {ours['noise_rate']}, {ours['n_clusters']} patterns\n"
        f"baseline (tool-call n-grams + k-means): ARI {base['ari']}, NMI {base['nmi']}, "
        f"purity {base['purity']}\n"
        f"{report['judgments_embedded_and_clustered_per_s']} judgments embedded and clustered/s",
        soft_wrap=True,
    )
    if len(report["domains"]) > 1:
        _print_domains(report)


def _print_domains(report: dict[str, Any]) -> None:
    """Per-domain ARIs, the span score and each pattern's domain shares."""
    per = ", ".join(f"{d} {s['ari']} ({s['n_failures']})" for d, s in report["domains"].items())
    span, qualified = report["span"], report["taskforge_domain_labels"]
    console.print(
        f"ARI per domain: {per}; joint {report['taskforge']['ari']} "
        f"({qualified['ari']} against domain-qualified labels)\n"
        f"span score {span['score']}: {span['n_spanning_failures']} of "
        f"{span['n_failures']['all']} failures in {span['n_spanning_patterns']} of "
        f"{span['n_patterns']} patterns where each domain holds >= {span['min_share']:.0%}",
        soft_wrap=True,
    )
    console.print(domain_table(report["patterns"], span["domains"]))


def domain_table(patterns: list[dict[str, Any]], domains: list[str]) -> Table:
    """Patterns (largest first) with each domain's count and share of the pattern."""
    table = Table("pattern", "size", *domains, "quarantined")
    for p in sorted(patterns, key=lambda p: -p["size"]):
        shares = p.get("domains") or {}
        cells = [
            f"{shares[d]['count']} ({shares[d]['share']:.0%})" if d in shares else "0"
            for d in domains
        ]
        table.add_row(p["name"], str(p["size"]), *cells, "yes" if p["quarantined"] else "")
    return table


def _mining_llm(
    bench: Path,
    domain: str,
    config: Path | None,
    threads: int | None,
    options: Any,
    as_json: bool,
) -> None:
    """``bench mining --judge llm``: the LLM judge on a sample, a progress bar over it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from taskforge.domains import get_domain
    from taskforge.mining.bench import run_judge_bench
    from taskforge.mining.judge import LLMJudge

    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with _judge_client(config, threads) as (client, server):
        judge = LLMJudge(client, toolkit_cls=get_domain(domain).toolkit_cls)
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task(f"judging with {client.role.model}", total=options.sample)
            report = run_judge_bench(
                bench, judge, options, lambda done, n: bar.update(task, completed=done, total=n)
            )
        if server is not None:
            report["local_server"] = _server_state(server)
    if as_json:
        emit_json(report)
    else:
        _print_judge_report(report)


@contextmanager
def _judge_client(config: Path | None, threads: int | None) -> Iterator[tuple[Any, Any]]:
    """The judge role's client and the local server (None with ``config``).

    Without ``config`` the client's model is the local server, started here.

    The local server is stopped however the run ends, SIGTERM included (Python's default
    SIGTERM would leave the child server running).
    """
    from taskforge.llm import load_llm_config, make_clients
    from taskforge.llm.config import LLMConfig

    if config is not None:
        yield make_clients(load_llm_config(config), roles=("judge",))["judge"], None
        return
    from taskforge.llm.local import LocalServer, ServerOptions, free_port, local_llm_config

    options = ServerOptions(port=free_port())
    options.threads = threads or options.threads
    with tempfile.TemporaryDirectory(prefix="taskforge-bench-local-") as tmp, _sigterm_exits():
        server = LocalServer(options, log_path=Path(tmp) / "server.log")
        try:
            with console.status(f"starting the local model server ({options.threads} threads)"):
                server.start()
            data = local_llm_config(server.api_base, None)
            yield make_clients(LLMConfig.model_validate(data), roles=("judge",))["judge"], server
        finally:
            server.stop()


def _server_state(server: Any) -> dict[str, Any]:
    """Whether the local server survived the run; if not, its exit code and last log lines."""
    code = server.process.poll() if server.process is not None else None
    state: dict[str, Any] = {"threads": server.options.threads, "exited_with": code}
    if code is not None:
        log = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        state["log_tail"] = log.strip().splitlines()[-5:]
        console.print(
            f"[bold red]the local server died during the run (exit code {code})[/]: "
            + " | ".join(state["log_tail"]),
            soft_wrap=True,
            highlight=False,
        )
    return state


@contextmanager
def _sigterm_exits() -> Iterator[None]:
    """While inside, SIGTERM raises SystemExit (so ``finally`` blocks run); then restored."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_judge_report(report: dict[str, Any]) -> None:
    """The human-readable lines of ``bench mining --judge llm``."""
    llm, diag, base = (
        report["llm_judge"],
        report["diagnostic_judge"],
        report["baseline_tool_ngrams"],
    )
    counts, secs, tokens = report["judgments"], report["seconds"], report["tokens"] or {}
    sample = report["sample"]
    console.print(
        f"sample: {sample['n']} failures ({sample['per_label']}), seed {sample['seed']}, "
        f"{sample['embedder']}, min cluster size {sample['min_cluster_size']}\n"
        f"LLM judge ({report['judge_model']}): ARI {llm['ari']}, NMI {llm['nmi']}, "
        f"purity {llm['purity']}, {llm['n_clusters']} clusters; categories ARI "
        f"{llm['category']['ari']}\n"
        f"diagnostic judge, same sample: ARI {diag['ari']}, NMI {diag['nmi']}, "
        f"purity {diag['purity']}; categories ARI {diag['category']['ari']}\n"
        f"baseline (tool-call n-grams + k-means), same sample: ARI {base['ari']}, "
        f"NMI {base['nmi']}, purity {base['purity']}\n"
        f"judgments: {counts['ok']} ok, {counts['unparseable']} unparseable, "
        f"{counts['call_failed']} failed calls, {counts['crashed']} crashed\n"
        f"{secs['judge_per_failure']} s per failure ({secs['judge_total']} s in all); tokens "
        f"{tokens.get('prompt_tokens', 0):,} prompt + {tokens.get('completion_tokens', 0):,} "
        f"completion ({tokens.get('completion_tokens_per_s')} completion tokens/s)",
        soft_wrap=True,
    )


@app.command(
    "failures", epilog="Example: taskforge bench failures --out failure-bench --per-mode 10 --json"
)
def failures(
    out: Path = typer.Option(Path("datasets/failure-bench"), "--out", help="Output folder."),
    per_mode: int = typer.Option(100, "--per-mode", min=1, help="Failures per error mode."),
    seed: int = typer.Option(0, "--seed", help="Seed of the scripted episodes."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate the labeled failure benchmark from the scripted policy's error modes."""
    from taskforge.mining.failure_bench import generate_failure_bench

    dom = get_domain(domain)
    if dom.default_db_path is None:
        fail(f"domain {dom.name!r} ships no DB and seed tasks")
    tasks = load_tasks(dom.default_db_path.parent / "seed_tasks.json")
    with console.status("playing scripted episodes, one error mode at a time"):
        report = generate_failure_bench(out, tasks, dom.load_db(), dom.toolkit_cls, per_mode, seed)
    if as_json:
        emit_json(report)
    else:
        console.print(f"wrote {report['path']}: {report['per_mode']}")


@app.command("synthesis", epilog="Example: taskforge bench synthesis --n 5 --json")
def synthesis(
    n: int = typer.Option(20, "--n", min=1, help="Candidates per family."),
    seed: int = typer.Option(0, "--seed", help="Seed of sampling and wording."),
    db_path: Path | None = typer.Option(None, "--db", help="Task DB (default: bundled DB)."),
    config: Path | None = typer.Option(
        None, "--config", help="LLM config: its writer/explorer/judge take part (tokens counted)."
    ),
    embedder: str = typer.Option("hashing", "--embedder", help="hashing | minilm (dedup)."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Verified tasks/s and acceptance rate of targeted synthesis vs unguided candidates."""
    from taskforge.registry import build
    from taskforge.synthesis.bench import run_synthesis_bench

    dom = get_domain(domain)
    roles = None
    if config is not None:
        from taskforge.llm.config import load_llm_config
        from taskforge.synthesis.llm import synthesis_roles

        roles = synthesis_roles(load_llm_config(config), seed)
    with console.status("synthesizing and verifying, then the unguided baseline"):
        report = run_synthesis_bench(
            dom.load_db(db_path), dom.toolkit_cls, n, seed, build("embedder", embedder), roles
        )
    if as_json:
        emit_json(report)
        return
    ours, base, ratio = report["taskforge"], report["baseline_unguided"], report["ratio"]
    console.print(
        f"taskforge: {ours['accepted']}/{ours['candidates']} accepted "
        f"({ours['acceptance_rate']:.0%}), {ours['verified_tasks_per_s']} verified tasks/s\n"
        f"unguided:  {base['accepted']}/{base['candidates']} accepted "
        f"({base['acceptance_rate']:.0%}), {base['verified_tasks_per_s']} verified tasks/s\n"
        f"ratio:     x{ratio['acceptance_rate']} acceptance, "
        f"x{ratio['verified_tasks_per_s']} verified tasks/s",
        soft_wrap=True,
    )
    if report["llm"]:
        console.print(f"LLM: {report['llm']}")


@app.command(
    "train",
    epilog="Example: taskforge bench train --steps 6 --n-eval 8 --json  (needs the local extra)",
)
def train(
    trainer: str = typer.Option("trl-cpu", "--trainer", help="A trainer with a bench (trl-cpu)."),
    steps: int = typer.Option(6, "--steps", min=1, help="GRPO optimizer steps."),
    n_train: int = typer.Option(8, "--n-train", min=1, help="Easy generated training tasks."),
    n_eval: int = typer.Option(8, "--n-eval", min=1, help="Easy generated evaluation tasks."),
    rollout_n: int = typer.Option(4, "--rollout-n", min=2, help="GRPO samples per prompt."),
    learning_rate: float | None = typer.Option(
        None, "--learning-rate", min=0, help="Optimizer learning rate (default: the trainer's)."
    ),
    eval_trials: int = typer.Option(4, "--eval-trials", min=1, help="Samples per eval task."),
    eval_temperature: float = typer.Option(
        1.0, "--eval-temperature", min=0, help="Eval sampling temperature (0: greedy)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of tasks, sampling and training."),
    spec: str = typer.Option("raft", "--spec", help="Reward spec (preset or file)."),
    db_path: Path | None = typer.Option(None, "--db", help="Task DB (default: bundled DB)."),
    out: Path = typer.Option(Path("bench-train"), "--out", help="Checkpoints and logs."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """pass^1 and mean reward on a fixed set of easy tasks before and after N GRPO steps."""
    from taskforge.contracts.loop import TrainingSettings
    from taskforge.loop.trainer import load_trainer

    runner = load_trainer(trainer)()
    if not hasattr(runner, "bench"):
        fail(f"--trainer {trainer}: this trainer has no CPU benchmark")
    dom = get_domain(domain)
    settings = TrainingSettings(
        rollout_n=rollout_n, batch_size=2, steps=steps, learning_rate=learning_rate
    )
    report = runner.bench(
        n_train=n_train, n_eval=n_eval, db_path=db_path or dom.default_db_path, domain=domain,
        spec=spec, steps=steps, seed=seed, run_dir=out, settings=settings,
        eval_temperature=eval_temperature, eval_trials=eval_trials,
    )  # fmt: skip
    if as_json:
        emit_json(report)
        return
    before, after = report["before"], report["after"]
    console.print(
        f"{report['n_eval']} eval tasks, {steps} GRPO steps on {report['n_train']} tasks\n"
        f"before: pass^1 {before['pass1']:.3f}, mean reward {before['mean_reward']:.3f}\n"
        f"after:  pass^1 {after['pass1']:.3f}, mean reward {after['mean_reward']:.3f}\n"
        f"mean reward per step: {', '.join(f'{r:.3f}' for r in report['reward_per_step'])}",
        soft_wrap=True,
    )


@app.command(
    "local",
    epilog="Example: taskforge bench local --limit 3 --json  (needs the local extra)",
)
def local(
    tasks: Path | None = typer.Option(
        None, "--tasks", help="Task file (default: the domain's bundled seed tasks)."
    ),
    db_path: Path | None = typer.Option(None, "--db", help="DB (default: the bundled DB)."),
    limit: int = typer.Option(3, "--limit", min=1, help="Tasks played by each arm."),
    trials: int = typer.Option(1, "--trials", min=1, help="Trials per task."),
    max_steps: int = typer.Option(6, "--max-steps", min=2, help="Messages per episode."),
    contexts: int = typer.Option(4, "--contexts", min=1, help="Contexts of the pool."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Server threads (all)."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The local server's context pool against llama-cpp-python's RAM prompt cache.

    The same rollout with SmolLM2 as policy and user on each, one after the other: episodes
    per minute, completion tokens per second and the server's peak memory, as ratios.
    """
    from taskforge.llm.local import require_llama_cpp
    from taskforge.llm.local_bench import LocalBenchOptions, run_local_bench

    require_llama_cpp()
    dom = get_domain(domain)
    path = tasks or (
        dom.default_db_path.parent / "seed_tasks.json" if dom.default_db_path else None
    )
    if path is None or not path.exists():
        fail(f"{path}: no such task file (pass --tasks)")
    options = LocalBenchOptions(path, db_path, limit, trials, max_steps, contexts, threads, domain)
    with _arm_progress(limit * trials) as tick, _sigterm_exits():
        report = run_local_bench(options, tick)
    if as_json:
        emit_json(report)
        return
    for name, arm in report["arms"].items():
        console.print(
            f"{name}: {arm['episodes_per_min']} episodes/min, {arm['completion_tokens_per_s']} "
            f"completion tokens/s, server peak {arm['server_peak_rss_mb']} MB ({arm['wall_s']} s)"
        )
    console.print(
        f"context pool / RAM cache: episodes/min x{report['episodes_per_min_ratio']}, "
        f"peak memory x{report['peak_rss_ratio']}; same rewards: {report['same_rewards']}"
    )


@contextmanager
def _arm_progress(per_arm: int) -> Iterator[Any]:
    """A progress bar per bench arm; yields the callback told an arm's name per episode."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        bars: dict[str, Any] = {}

        def tick(arm: str) -> None:
            if arm not in bars:
                bars[arm] = progress.add_task(arm, total=per_arm)
            progress.advance(bars[arm])

        yield tick


@app.command(
    "scale",
    epilog="Example: taskforge bench scale --tasks 20 --trials 2 --latency-ms 50 --json  "
    "(Ray runs need the ray extra)",
)
def scale(
    tasks: int = typer.Option(20, "--tasks", min=1, help="Tasks per rollout."),
    trials: int = typer.Option(2, "--trials", min=1, help="Trials per task."),
    latency_ms: float = typer.Option(50.0, "--latency-ms", min=0, help="Fake endpoint latency."),
    concurrency: int = typer.Option(
        2, "--concurrency", min=1, help="Episodes (so LLM calls per client) in flight per worker."
    ),
    workers: str = typer.Option(
        "1,2", "--workers", help="Comma-separated Ray worker counts ('' for the local run only)."
    ),
    tasks_path: Path | None = typer.Option(
        None, "--tasks-file", help="Tasks to play (default: the domain's bundled seed tasks)."
    ),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Keep rollouts and warehouses here (default: a temporary folder)."
    ),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Rollout episodes/s on a fixed-latency fake endpoint, local vs Ray, and the landing rate."""
    from taskforge.executors.bench import run_scale_bench, seed_tasks_path

    counts = _int_list("--workers", workers)
    path = tasks_path or seed_tasks_path(domain)
    if len(load_tasks(path)) < tasks:
        fail(f"{path}: fewer than --tasks {tasks} tasks")
    with console.status("rolling out on the local executor, then on Ray"):
        report = run_scale_bench(
            path, tasks, trials, latency_ms, concurrency, counts, workdir, domain
        )
    if as_json:
        emit_json(report)
        return
    local = report["local"]
    lines = [f"local:       {local['episodes_per_s']:.2f} episodes/s ({local['seconds']} s)"]
    for n, run in report.get("ray", {}).items():
        ratio = report["ratio_vs_local"][f"ray_{n}"]
        lines.append(f"ray, {n} workers: {run['episodes_per_s']:.2f} episodes/s (x{ratio})")
    if "landing" in report:
        lines.append(f"landing:     {report['landing']['episodes_per_s']} episodes/s ingested")
    console.print("\n".join(lines), soft_wrap=True)


def _int_list(option: str, text: str) -> list[int]:
    """Comma-separated integers, or a one-line error naming the option."""
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        fail(f"{option}: expected comma-separated integers, got {text!r}")
