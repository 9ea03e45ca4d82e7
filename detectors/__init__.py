"""Pure detection logic and policy: no Kafka here, so ``backtest`` and the worker run the same code.

The names below load on first use, so importing one module of the package (a rule, the
policy model) does not import every rule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detectors.engine import Engine
    from detectors.exceptions import PolicyError
    from detectors.policy import Policy, load_policy, policy_from_mapping

__all__ = ["Engine", "Policy", "PolicyError", "load_policy", "policy_from_mapping"]
_HOMES = {
    "Engine": "detectors.engine",
    "PolicyError": "detectors.exceptions",
    "Policy": "detectors.policy",
    "load_policy": "detectors.policy",
    "policy_from_mapping": "detectors.policy",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'detectors' has no attribute {name!r}")
