"""What a deployment file may name: ``CM_*`` settings, webhook secrets, CLI commands."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from detectors import load_policy
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
DEPLOY_POLICY = INFRA / "policy" / "deploy.yaml"


def is_setting(variable: str) -> bool:
    """Whether ``CM_X`` or ``CM_X__Y`` names a field of :class:`Settings` (pydantic-settings
    ignores any other ``CM_*`` variable without a word)."""
    if not variable.startswith("CM_"):
        return False
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("CM_").lower().split("__")
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if depth < len(parts) - 1:
            annotation = field.annotation
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def webhook_secrets() -> set[str]:
    """The ``secret_env`` variables of the deployment policy's webhooks."""
    return {hook.secret_env for hook in load_policy(DEPLOY_POLICY).actions.webhooks}


def unknown_cm_variables(names: set[str]) -> set[str]:
    """The ``CM_*`` names that are neither a setting nor a webhook secret of the policy."""
    return {n for n in names if n.startswith("CM_") and not is_setting(n) and n not in webhook_secrets()}


def env_file_names(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of an env file (comments and blank lines skipped)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name] = value
    return out


def cli_help(command: list[str]) -> tuple[int, str]:
    """Exit code and text of ``compliance-monitor <subcommand> --help`` for a process' arguments."""
    from typer.testing import CliRunner

    from streams.cli import app

    words = [w for w in command if not w.startswith("-")]
    path = words[:2] if words[0] in ("actions", "policy", "users", "bench") else words[:1]
    result = CliRunner().invoke(app, [*path, "--help"])
    return result.exit_code, result.output


def unknown_options(command: list[str]) -> list[str]:
    """The ``--options`` of a process' arguments that its subcommand does not have."""
    code, text = cli_help(command)
    assert code == 0, text
    return [w for w in command if w.startswith("--") and w not in text]
