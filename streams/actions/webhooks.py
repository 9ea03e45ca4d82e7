"""What a webhook receiver gets for an action's state: the body and headers of each format.

``standard`` follows the Standard Webhooks specification (signed with the ``standardwebhooks``
package): the action record as body, ``webhook-id`` ``<action_id>.<state>`` so receivers
drop repeats. ``alertmanager`` posts the payload of Alertmanager's webhook (version 4), for
receivers written for it: an active action fires, a revoked or expired one resolves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from standardwebhooks import Webhook as Signer

from detectors.action_policy import Webhook
from events import Action

ALERTMANAGER_STATUS = {"active": "firing", "revoked": "resolved", "expired": "resolved"}
"""Action state -> Alertmanager status; other states are not sent in that format."""
ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's ``endsAt`` of an alert still firing."""


def webhook_id(action: Action) -> str:
    """The same state of the same action always has the same id."""
    return f"{action.action_id}.{action.state}"


def wanted(hook: Webhook, action: Action) -> bool:
    """Whether ``hook`` receives this state of ``action``."""
    if action.kind not in hook.kinds:
        return False
    return hook.format == "standard" or action.state in ALERTMANAGER_STATUS


def request_for(hook: Webhook, action: Action, secret: str, now: datetime) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the delivery of ``action`` to ``hook``, signed or authorised with ``secret``."""
    headers = {"Content-Type": "application/json", "User-Agent": "compliance-monitor"}
    if hook.format == "standard":
        body = action.model_dump_json().encode()
        message_id = webhook_id(action)
        headers |= {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Signer(secret).sign(message_id, now, body),
        }
        return body, headers
    headers["Authorization"] = secret
    return orjson.dumps(alertmanager_payload(hook.name, action)), headers


def alertmanager_payload(receiver: str, action: Action) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4) for one action, its ``fingerprint`` the action id."""
    status = ALERTMANAGER_STATUS[action.state]
    labels = {
        "alertname": "ComplianceMailBlock",
        "action_id": action.action_id,
        "kind": action.kind,
        "target": action.target,
        "rule_id": action.alert.rule_id if action.alert else "",
    }
    ends = action.decided_at if status == "resolved" else None
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {
            "reason": action.reason,
            "summary": action.alert.summary if action.alert else action.reason,
            "state": action.state,
        },
        "startsAt": _time(action.requested_at),
        "endsAt": _time(ends) if ends else ZERO_TIME,
        "generatorURL": "",
        "fingerprint": action.action_id,
    }
    return {
        "version": "4",
        "groupKey": f"{{}}:{{action_id={action.action_id!r}}}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"action_id": action.action_id},
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": "",
        "alerts": [alert],
    }


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
