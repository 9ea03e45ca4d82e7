"""The ``compliance-monitor`` command line (docs/cli.md)."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # the detectors load on first use, so `--help` starts at once
    from detectors import Policy
    from streams.settings import Settings

app = typer.Typer(
    name="compliance-monitor",
    help="Streaming compliance monitor: collector harassment, collection conduct, distress, expense.",
    no_args_is_help=True,
    add_completion=False,
)
policy_app = typer.Typer(help="Work with policy files.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
users_app = typer.Typer(help="Users of the console (the CM_USERS file).", no_args_is_help=True)
app.add_typer(users_app, name="users")
actions_app = typer.Typer(help="IT actions (blocked mail senders) and their states.", no_args_is_help=True)
app.add_typer(actions_app, name="actions")
err = Console(stderr=True)

PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="Policy YAML (env CM_POLICY); built-in cn defaults if unset")
]
MetricsOpt = Annotated[
    str | None, typer.Option("--metrics", help="HOST:PORT for /metrics and /healthz; none if unset")
]
BrokerOpt = Annotated[
    str | None,
    typer.Option("--broker", help="Kafka broker, e.g. kafka://localhost:9092 (env CM_KAFKA_BROKER)"),
]
ReportOpt = Annotated[Path | None, typer.Option("--json", help="also write the report to this file")]


def _settings(**flags: Any):
    """Settings from flags, then CM_* environment, then defaults; exit 2 naming a bad key."""
    from streams.logs import configure_logging
    from streams.settings import Settings

    try:
        settings = Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as error:
        for item in error.errors(include_url=False):
            key = "CM_" + "__".join(str(p) for p in item["loc"]).upper()
            err.print(f"[red]invalid setting {key}[/red]: {item['msg']}")
        raise typer.Exit(2) from error
    configure_logging(settings.log_format)
    return settings


def _policy(path: Path | None, region: str) -> Policy:
    from detectors import PolicyError, load_policy

    try:
        return load_policy(path, region)
    except PolicyError as error:
        err.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from error


def _pseudonymizer(settings: Any, policy: Policy) -> Any:
    """The distress pseudonymiser; exit 2 without a key while the distress family is on."""
    if policy.runs_distress and settings.pseudonym_key is None:
        err.print(
            "[red]CM_PSEUDONYM_KEY is not set[/red], and the policy runs the distress family "
            "(privacy.distress is true): its alerts must name pseudonyms, not employees. Set "
            "CM_PSEUDONYM_KEY (16+ characters, e.g. `openssl rand -hex 32`), or set "
            "privacy.distress: false in the policy.",
            highlight=False,
        )
        raise typer.Exit(2)
    return settings.pseudonymizer()


@app.command()
def backtest(
    events: Annotated[Path, typer.Argument(help="CloudEvents JSON lines, any order")],
    out: Annotated[Path | None, typer.Option("--out", help="where to write the alerts (JSON lines)")] = None,
    policy: PolicyOpt = None,
    actions: Annotated[
        Path | None, typer.Option("--actions", help="also write the IT action requests (JSON lines)")
    ] = None,
    clickhouse: Annotated[
        str | None,
        typer.Option(
            "--clickhouse",
            help="also write the alerts, pseudonym rows and events to this store "
            "(chdb:///path or http(s)://user:pass@host:8123/db), e.g. to look at them in Grafana",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            help="processes for the keyed detectors, split by key as the worker's keyed topic "
            "(default: the machine's cores); the output is the same as with 1",
        ),
    ] = None,
) -> None:
    """Run the worker's detectors over a file of events, in event-time order."""
    from rich.progress import Progress

    from streams.backtest import run_backtest, write_alerts
    from streams.backtest_jobs import cores

    if out is None and clickhouse is None:
        err.print("[red]give --out FILE, --clickhouse URL or both[/red]")
        raise typer.Exit(2)
    if actions is not None and out is None:
        err.print("[red]--actions needs --out[/red]")
        raise typer.Exit(2)
    settings = _settings(policy=policy)
    loaded = _policy(settings.policy, settings.phone_region)
    hidden = _pseudonymizer(settings, loaded)
    jobs = jobs or cores()
    started = time.perf_counter()
    try:
        if err.is_terminal:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("detecting", total=None)
                report = run_backtest(
                    events,
                    loaded,
                    lambda done, total: bar.update(task, completed=done, total=total),
                    hidden,
                    jobs,
                )
        else:
            report = run_backtest(events, loaded, pseudonymizer=hidden, jobs=jobs)
    except OSError as error:
        err.print(f"[red]cannot read {events}: {error.strerror or error}[/red]")
        raise typer.Exit(2) from error
    if out is not None:
        write_alerts(report, out, actions)
    if clickhouse is not None:
        _store_backtest(report, events, clickhouse, settings, loaded)
    elapsed = time.perf_counter() - started
    rate = report.events / elapsed if elapsed else 0.0
    err.print(
        f"events read: {report.lines} lines, {report.events} valid, {sum(report.rejected.values())} rejected"
    )
    for reason, count in sorted(report.rejected.items()):
        err.print(f"  rejected {reason}: {count}")
    shown: set[str] = set()
    for line, rejection in report.rejections:
        if rejection.reason not in shown:
            shown.add(rejection.reason)
            err.print(f"  e.g. line {line}: {rejection.message}", highlight=False)
    err.print(
        f"alerts: {len(report.alerts)}, actions: {len(report.actions)} "
        f"({rate:,.0f} events/s, {elapsed:.2f} s, {jobs} job{'s' if jobs > 1 else ''})"
    )
    for rule, count in sorted(report.alerts_per_rule().items()):
        err.print(f"  {rule}: {count}")
    if report.other_currency:
        codes = ", ".join(f"{code} {count}" for code, count in sorted(report.other_currency.items()))
        err.print(
            f"claims in other currencies than {loaded.currency} (not compared with amount rules): {codes}"
        )
    if report.detector_errors:
        err.print(
            f"[red]detector errors: {len(report.detector_errors)}[/red] (the worker dead-letters these)"
        )
        for line, error in report.detector_errors:
            err.print(f"  line {line}: {error}", highlight=False, markup=False, soft_wrap=True)
    err.print(f"state keys: live {report.live_keys}, expired {report.expired_keys}")


def _store_backtest(report: Any, events: Path, url: str, settings: Any, policy: Policy) -> None:
    """Write a backtest to the store at ``url``; exit 2 on a bad URL, 1 when the store fails."""
    from sinks.exceptions import SinkConfigError, SinkError
    from streams.backtest_store import open_store, store_backtest

    try:
        sink = open_store(url, settings, policy)
        try:
            counts = store_backtest(report, events, sink, policy.parse_context())
        finally:
            sink.close()
    except SinkConfigError as error:
        err.print(f"[red]--clickhouse: {escape(str(error))}[/red]", highlight=False)
        raise typer.Exit(2) from error
    except (SinkError, OSError) as error:
        err.print(f"[red]cannot write to the store: {escape(str(error))}[/red]", highlight=False)
        raise typer.Exit(1) from error
    err.print(
        f"store: {counts.alerts} alerts, {counts.pseudonyms} pseudonym rows, {counts.events} events written"
    )


@app.command()
def score(
    events: Annotated[
        Path, typer.Argument(help="labelled events (cmlabel ground truth, cmevasion kinds)", exists=True)
    ],
    alerts: Annotated[Path, typer.Argument(help="alerts from backtest --out", exists=True)],
) -> None:
    """Recall and precision per rule of alerts against a labelled file's cases (and per
    evasion kind when its events say ``cmevasion``)."""
    import orjson

    from streams.score import RuleScore, score_by_kind
    from streams.score import score as score_alerts

    def read(path: Path) -> list[dict]:
        out = []
        for line in path.read_bytes().splitlines():
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    def line(name: str, result: RuleScore) -> str:
        return (
            f"{name:42} cases {len(result.cases):4} found {len(result.found):4} alerts {result.alerts:4} "
            f"recall {result.recall:.3f} precision {result.precision:.3f}"
        )

    event_lines, alert_lines = read(events), read(alerts)
    for rule, result in sorted(score_alerts(event_lines, alert_lines).items()):
        typer.echo(line(rule, result))
    by_kind = score_by_kind(event_lines, alert_lines)
    if by_kind:
        typer.echo("by evasion kind (cmevasion):")
        for kind, result in sorted(by_kind.items()):
            typer.echo(line(f"  {kind}", result))


@app.command()
def schemas(out: Annotated[Path, typer.Option("--out", help="directory for the .schema.json files")]) -> None:
    """Write the JSON Schema of every event type, the alert and the action."""
    from events.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(path)


@app.command()
def rules(
    policy: PolicyOpt = None,
    output_format: Annotated[str, typer.Option("--format", help="md or json")] = "md",
) -> None:
    """Print the rule catalogue: what each rule detects, its thresholds in force and their source."""
    import json

    from detectors.catalogue import as_json, as_markdown, catalogue

    if output_format not in ("md", "json"):
        err.print(f"[red]--format must be md or json, not {output_format!r}[/red]")
        raise typer.Exit(2)
    settings = _settings(policy=policy)
    loaded = _policy(settings.policy, settings.phone_region)
    entries = catalogue(loaded)
    if output_format == "json":
        typer.echo(json.dumps(as_json(entries), indent=2, ensure_ascii=False))
    else:
        name = f"`{settings.policy}`" if settings.policy else "the built-in defaults (the `cn` pack)"
        typer.echo(as_markdown(entries, name), nl=False)


@policy_app.command("check")
def policy_check(path: Annotated[Path, typer.Argument(help="policy YAML")]) -> None:
    """Validate a policy file and list every problem at once (exit 2 if any)."""
    loaded = _policy(path, "CN")
    enabled = [rule for rule, cfg in loaded.rules.items() if cfg.enabled]
    typer.echo(f"{path}: ok, policy_version {loaded.policy_version}, {len(enabled)} rules enabled")


@app.command()
def worker(
    broker: BrokerOpt = None,
    clickhouse_url: Annotated[
        str | None,
        typer.Option("--clickhouse-url", help="chdb:///path or http(s)://… (env CM_CLICKHOUSE_URL)"),
    ] = None,
    policy: PolicyOpt = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="state directory (env CM_DATA_DIR)")
    ] = None,
    web_port: Annotated[
        int | None, typer.Option("--web-port", help="metrics/API port (env CM_WEB_PORT)")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role", help="detect (both hops), store (alerts into ClickHouse) or all (env CM_ROLE)"
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel")] = "warning",
) -> None:
    """Run the Faust worker: consume the input topics, detect, write alerts."""
    from streams.worker import run_worker

    settings = _settings(
        kafka_broker=broker,
        clickhouse_url=clickhouse_url,
        policy=policy,
        data_dir=data_dir,
        web_port=web_port,
        role=role,
    )
    from streams.topics import BrokerUnreachableError

    loaded = _policy(settings.policy, settings.phone_region)
    _pseudonymizer(settings, loaded)
    _check_users(settings)
    try:
        run_worker(settings, loaded, loglevel=loglevel)
    except BrokerUnreachableError as error:
        err.print(f"[red]cannot start[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error


def _check_users(settings: Any) -> None:
    """Stop start-up (exit 2) on a users file that cannot be used, naming the key."""
    from streams.console.users import UsersFileError, load_users

    if settings.users is None:
        return
    try:
        load_users(settings.users)
    except UsersFileError as error:
        err.print(f"[red]invalid users file[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error


@app.command("console")
def console_command(
    broker: BrokerOpt = None,
    clickhouse_url: Annotated[
        str | None,
        typer.Option("--clickhouse-url", help="the alert store, http(s)://… (env CM_CLICKHOUSE_URL)"),
    ] = None,
    policy: PolicyOpt = None,
    web_port: Annotated[int | None, typer.Option("--web-port", help="port (env CM_WEB_PORT)")] = None,
    users: Annotated[Path | None, typer.Option("--users", help="the users file (env CM_USERS)")] = None,
) -> None:
    """The console as a process of its own, against a ClickHouse server the workers write to."""
    settings = _settings(
        kafka_broker=broker, clickhouse_url=clickhouse_url, policy=policy, web_port=web_port, users=users
    )
    if settings.users is None:
        err.print("[red]cannot start[/red]: the console needs a users file (--users or CM_USERS)")
        raise typer.Exit(2)
    _check_users(settings)
    if settings.clickhouse_dsn.startswith("chdb:"):
        err.print(
            "with embedded chDB the worker that owns the store serves the console; this process "
            "must be the only one on its path",
            highlight=False,
        )
    loaded = _policy(settings.policy, settings.phone_region)
    from streams.console.standalone import run_console
    from streams.topics import BrokerUnreachableError

    try:
        run_console(settings, loaded)
    except BrokerUnreachableError as error:
        err.print(f"[red]cannot start[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="user name, shown in the audit log")],
    role: Annotated[
        list[str], typer.Option("--role", help="officer, hr, it, auditor or admin (repeat for several)")
    ],
    password: Annotated[
        bool, typer.Option("--password", help="ask for a password for the login page")
    ] = False,
    token: Annotated[bool, typer.Option("--token", help="create an API token (printed once)")] = False,
    display_name: Annotated[str, typer.Option("--display-name", help="name shown on the page")] = "",
    users_file: Annotated[
        Path | None, typer.Option("--users-file", help="the users file (env CM_USERS)")
    ] = None,
) -> None:
    """Add a user to the console's users file; a new API token is printed once, never stored."""
    from streams.console.users import ROLES, UsersFileError, add_user

    path = users_file or _settings().users
    if path is None:
        err.print("[red]name the users file[/red] with --users-file or CM_USERS")
        raise typer.Exit(2)
    unknown = [r for r in role if r not in ROLES]
    if unknown:
        err.print(f"[red]--role {unknown[0]}[/red]: one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    try:
        new_token = add_user(path, name, role, display_name, secret, token)  # type: ignore[arg-type]
    except (UsersFileError, ValueError) as error:
        err.print(f"[red]cannot add {escape(name)}[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error
    if new_token:
        typer.echo(f"API token for {name} (shown once, keep it safe): {new_token}")
    err.print(f"{name} added to {path}", highlight=False)


@actions_app.command("list")
def actions_list(
    state: Annotated[
        str | None,
        typer.Option("--state", help="pending_approval, active, rejected, revoked or expired"),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    broker: BrokerOpt = None,
) -> None:
    """The actions on the actions topic and their states, newest request first."""
    import asyncio
    import json
    from typing import get_args

    from events.alert import ActionState
    from streams.actions.run import list_actions

    if state is not None and state not in get_args(ActionState):
        err.print(f"[red]--state {escape(state)}[/red]: one of {', '.join(get_args(ActionState))}")
        raise typer.Exit(2)
    if output_format not in ("table", "json"):
        err.print("[red]--format[/red]: table or json")
        raise typer.Exit(2)
    actions = asyncio.run(list_actions(_settings(kafka_broker=broker), state))  # type: ignore[arg-type]
    if output_format == "json":
        for action in actions:
            typer.echo(json.dumps(action.model_dump(mode="json"), ensure_ascii=False))
        return
    for a in actions:
        expires = a.expires_at.isoformat(timespec="seconds") if a.expires_at else "-"
        typer.echo(f"{a.action_id}  {a.state:<16} {a.kind:<13} {a.target}  expires {expires}")
    err.print(f"{len(actions)} actions")


@actions_app.command("decide")
def actions_decide(
    action_id: Annotated[str, typer.Argument(help="the action's id (actions list)")],
    decision: Annotated[str, typer.Argument(help="approve, reject or revoke")],
    by: Annotated[str, typer.Option("--by", help="who decides: written to the audit log")],
    comment: Annotated[str | None, typer.Option("--comment", help="why, for the audit log")] = None,
    broker: BrokerOpt = None,
) -> None:
    """Approve or reject a pending action, or revoke an active one (needs a running worker)."""
    import asyncio

    from detectors.action_book import DECISIONS, DecisionError, UnknownActionError
    from streams.actions.desk import DecisionNotApplied
    from streams.actions.run import decide_action

    if decision not in DECISIONS:
        err.print(f"[red]{escape(decision)}[/red]: approve, reject or revoke")
        raise typer.Exit(2)
    settings = _settings(kafka_broker=broker)
    role = _decider_role(settings, by)
    try:
        action = asyncio.run(decide_action(settings, action_id, decision, by, role, comment))  # type: ignore[arg-type]
    except (UnknownActionError, DecisionError, DecisionNotApplied) as error:
        err.print(f"[red]not decided[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(1) from error
    typer.echo(f"{action.action_id} is {action.state} ({action.kind} {action.target})")


@actions_app.command("deliver")
def actions_deliver(
    metrics_listen: MetricsOpt = None,
    policy: PolicyOpt = None,
    broker: BrokerOpt = None,
) -> None:
    """Send every action state change to the policy's webhooks (actions.webhooks), until stopped."""
    import asyncio

    from streams.actions.deliver import WebhookSecretError, deliver_actions, read_secrets
    from streams.actions.postfix import split_listen

    settings = _settings(kafka_broker=broker, policy=policy)
    hooks = _policy(settings.policy, settings.phone_region).actions.webhooks
    if not hooks:
        err.print("[red]nothing to deliver[/red]: the policy has no actions.webhooks")
        raise typer.Exit(2)
    try:
        secrets = read_secrets(hooks)
        metrics_at = split_listen(metrics_listen) if metrics_listen else None
    except (WebhookSecretError, ValueError) as error:
        err.print(f"[red]cannot start[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(deliver_actions(settings, hooks, secrets, metrics_at))


def _decider_role(settings: Any, by: str) -> str:
    """The role an ``actions decide`` is recorded with: the user's, when a users file is set."""
    if settings.users is None:
        return "cli"
    from streams.console.users import UsersFileError, load_users

    try:
        user = load_users(settings.users).by_name.get(by)
    except UsersFileError as error:
        err.print(f"[red]invalid users file[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error
    roles = set(user.roles) if user else set()
    if not roles & {"it", "admin"}:
        err.print(f"[red]--by {escape(by)}[/red]: not a user with the it or admin role in {settings.users}")
        raise typer.Exit(2)
    return "admin" if "admin" in roles else "it"


@app.command("postfix-policy")
def postfix_policy(
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT Postfix connects to")
    ] = "127.0.0.1:10040",
    fail: Annotated[
        str, typer.Option("--fail", help="before the block list is loaded: open (DUNNO) or closed (defer)")
    ] = "open",
    metrics_listen: MetricsOpt = None,
    policy: PolicyOpt = None,
    broker: BrokerOpt = None,
) -> None:
    """Postfix's policy delegation service: REJECT mail from blocked senders, DUNNO otherwise."""
    import asyncio

    import uvloop

    from streams.actions.postfix import serve_policy, split_listen

    if fail not in ("open", "closed"):
        err.print("[red]--fail[/red]: open or closed")
        raise typer.Exit(2)
    try:
        at = split_listen(listen)
        metrics_at = split_listen(metrics_listen) if metrics_listen else None
    except ValueError as error:
        err.print(f"[red]invalid address[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error
    settings = _settings(kafka_broker=broker, policy=policy)
    loaded = _policy(settings.policy, settings.phone_region)
    uvloop.install()
    try:
        asyncio.run(serve_policy(settings, at, loaded.actions.reject_text, fail, metrics_at))  # type: ignore[arg-type]
    except OSError as error:
        err.print(f"[red]cannot listen on {escape(listen)}[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error
    except KeyboardInterrupt:
        pass


@app.command()
def simulate(
    broker: BrokerOpt = None,
    rate: Annotated[
        float, typer.Option("--rate", help="events per second (0 = as fast as possible)")
    ] = 200.0,
    duration: Annotated[
        float | None, typer.Option("--duration", help="seconds to run; default forever")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    events: Annotated[int | None, typer.Option("--events", help="stop after this many events")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write JSON lines to this file instead of Kafka")
    ] = None,
    noise: Annotated[
        float, typer.Option("--noise", help="with --out: share of duplicate, broken and out-of-order lines")
    ] = 0.0,
    days: Annotated[int | None, typer.Option("--days", help="with --out: whole simulated days")] = None,
) -> None:
    """Produce realistic synthetic events of every type, with labelled violations mixed in."""
    import asyncio

    from simulator import produce, write_file

    if out is not None:
        count = write_file(out, seed=seed, limit=events or 20_000, noise=noise, days=days)
        err.print(f"wrote {count} lines to {out}")
        return
    settings = _settings(kafka_broker=broker)
    count = asyncio.run(produce(settings, rate=rate, duration=duration, seed=seed, limit=events))
    err.print(f"produced {count} events to {settings.kafka_broker}")


@app.command()
def demo(
    duration: Annotated[float | None, typer.Option("--duration", help="stop after S seconds")] = None,
    rate: Annotated[float, typer.Option("--rate", help="simulated events per second")] = 100.0,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
    web_port: Annotated[int | None, typer.Option("--web-port")] = None,
) -> None:
    """Quick start: embedded broker (Tansu) + embedded ClickHouse (chDB) + worker + simulator."""
    from streams.demo import run_demo

    settings = _settings(data_dir=data_dir, web_port=web_port)
    sys.exit(run_demo(settings, duration=duration, rate=rate))


bench_app = typer.Typer(help="Benchmarks (docs/performance.md).")
app.add_typer(bench_app, name="bench")


@bench_app.callback(invoke_without_command=True)
def bench(
    context: typer.Context,
    events: Annotated[int, typer.Option("--events", help="events to produce and process")] = 50_000,
    json_out: ReportOpt = None,
    broker: BrokerOpt = None,
    rate: Annotated[
        int | None,
        typer.Option("--rate", min=1, help="instead: hold this many events/s and measure alert latency"),
    ] = None,
    duration: Annotated[float, typer.Option("--duration", min=1, help="seconds of load, with --rate")] = 120,
) -> None:
    """End-to-end benchmark: pipeline vs a bare consumer and a no-op Faust agent on the same events.

    With ``--rate``: latency from produce to alert queryable while the worker holds that rate.
    """
    if context.invoked_subcommand is not None:
        return
    from bench import run_bench, run_load_bench

    settings, configured = _bench_settings(broker)
    if rate is not None:
        _report(run_load_bench(settings, rate, duration, configured, _say), json_out)
    else:
        _report(run_bench(settings, events, configured, _say), json_out)


def _bench_settings(broker: str | None) -> tuple[Settings, bool]:
    """A bench's settings, and whether a broker was named (else it starts a Tansu of its own)."""
    import os

    return _settings(kafka_broker=broker), broker is not None or "CM_KAFKA_BROKER" in os.environ


def _say(text: str) -> None:
    """A bench's progress, on stderr."""
    err.print(text, highlight=False)


@bench_app.command("console")
def bench_console(
    alerts: Annotated[int, typer.Option("--alerts", help="alerts in the store")] = 1_000_000,
    json_out: ReportOpt = None,
) -> None:
    """The console on a store of N alerts: p95 of the queue, a filtered page, an alert page, the stream."""
    from bench.console import run_console_bench

    _report(run_console_bench(alerts, _say), json_out)


@bench_app.command("postfix")
def bench_postfix(
    connections: Annotated[int, typer.Option("--connections", help="concurrent Postfix connections")] = 200,
    requests: Annotated[int, typer.Option("--requests", help="policy requests in all")] = 100_000,
    blocks: Annotated[int, typer.Option("--blocks", help="active blocks on the actions topic")] = 10_000,
    json_out: ReportOpt = None,
    broker: BrokerOpt = None,
) -> None:
    """The Postfix policy service under load: requests/s and latency with many connections."""
    from bench.postfix import run_postfix_bench

    settings, configured = _bench_settings(broker)
    _report(run_postfix_bench(settings, configured, connections, requests, blocks, _say), json_out)


@bench_app.command("memory")
def bench_memory(
    keys: Annotated[int, typer.Option("--keys", help="distinct keys of detector state")] = 1_000_000,
    json_out: ReportOpt = None,
    broker: BrokerOpt = None,
) -> None:
    """The worker's resident memory (RSS) before and after N distinct keys of detector state."""
    from bench.memory import run_memory_bench

    settings, configured = _bench_settings(broker)
    _report(run_memory_bench(settings, keys, configured, _say), json_out)


def _report(report: dict[str, Any], json_out: Path | None) -> None:
    import json

    text = json.dumps(report, indent=2)
    typer.echo(text)
    if json_out is not None:
        json_out.write_text(text + "\n", encoding="utf-8")


def main() -> None:
    """Console-script entry point."""
    app()
