"""Start a ``compliance-monitor worker`` as a child process: the one launcher of ``demo``,
``bench``, the soak and the tests."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

DEMO_POLICY = Path(str(files("infra") / "policy" / "demo.yaml"))
"""The simulated company's policy, the default of ``demo`` and ``bench``: package data of
``infra`` (a file on disk: installs are unzipped)."""


def spawn_worker(
    data_dir: Path, env: dict[str, str], policy: Path | None = None, loglevel: str = "info"
) -> subprocess.Popen[bytes]:
    """Run a worker with ``CM_*`` overrides ``env`` on top of this process' environment.

    Its state and ``worker.log`` go under ``data_dir``. Without ``CM_PSEUDONYM_KEY`` in the
    environment a fresh key is generated (demo and bench only; production sets its own secret).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    full = {
        **os.environ,
        "CM_PSEUDONYM_KEY": os.environ.get("CM_PSEUDONYM_KEY") or secrets.token_hex(32),
        "CM_DATA_DIR": str(data_dir),
        "CM_POLICY": str(policy or DEMO_POLICY),
        **env,
    }
    log = (data_dir / "worker.log").open("ab")
    return subprocess.Popen(  # noqa: S603 - our own CLI, same interpreter
        [sys.executable, "-m", "streams", "worker", "--loglevel", loglevel],
        env=full,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
