"""Pure detection logic and policy: no Kafka here, so ``backtest`` and the worker run the same code."""

from detectors.engine import Engine
from detectors.exceptions import PolicyError
from detectors.policy import Policy, load_policy, policy_from_mapping

__all__ = ["Engine", "Policy", "PolicyError", "load_policy", "policy_from_mapping"]
