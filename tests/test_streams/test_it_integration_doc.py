"""The webhook verification snippets of docs/it-integration.md, run against requests that the
deliverer's own code signs (Python here, JavaScript in Debian's/the machine's Node.js)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from detectors.action_policy import Webhook
from events import Action
from streams.actions.webhooks import request_for

DOC = (Path(__file__).resolve().parents[2] / "docs" / "it-integration.md").read_text(encoding="utf-8")
SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes!!!!").decode()
HOOK = Webhook(name="gw", url="https://gw.example/hook", secret_env="CM_HOOK")
NOW = datetime.now(UTC)
ACTION = Action(
    action_id="a1",
    kind="block_sender",
    target="notice@agency.example",
    alert_id="al1",
    requested_at=NOW,
    expires_at=NOW + timedelta(days=90),
    reason="催收函",
)


def snippet(language: str) -> str:
    [code] = re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)
    return code


def signed() -> tuple[bytes, dict[str, str]]:
    return request_for(HOOK, ACTION, SECRET, datetime.now(UTC))


def test_the_python_snippet_accepts_a_signed_request_and_refuses_a_changed_one():
    namespace: dict = {}
    exec(snippet("python"), namespace)  # noqa: S102 - the documentation's own code
    body, headers = signed()
    assert namespace["verify"](SECRET, headers, body)["action_id"] == "a1"
    with pytest.raises(Exception, match="signature"):
        namespace["verify"](SECRET, headers, body.replace(b"a1", b"a2"))


def test_the_javascript_snippet_accepts_a_signed_request_and_refuses_a_changed_one(tmp_path):
    node = shutil.which("node")
    assert node, "node is missing: docs/it-integration.md's JavaScript cannot be checked"
    script = tmp_path / "verify.js"
    script.write_text(
        snippet("javascript")
        + """
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
try {
  console.log(verifyWebhook(input.secret, input.headers, Buffer.from(input.body, "base64")).action_id);
} catch (error) { console.log("refused: " + error.message); }
""",
        encoding="utf-8",
    )
    body, headers = signed()

    def run(body: bytes, headers: dict[str, str]) -> str:
        request = {"secret": SECRET, "headers": headers, "body": base64.b64encode(body).decode()}
        done = subprocess.run(
            [node, str(script)], input=orjson.dumps(request), capture_output=True, check=True
        )
        return done.stdout.decode().strip()

    assert run(body, headers) == "a1"
    assert run(body.replace(b"a1", b"a2"), headers) == "refused: bad webhook signature"
    stale = {**headers, "webhook-timestamp": str(int(NOW.timestamp()) - 3600)}
    assert run(body, stale) == "refused: stale webhook"
