"""The senders and domains blocked now, as the Postfix policy service consults them."""

from __future__ import annotations

from datetime import datetime

from events import Action


class BlockList:
    """Active ``block_sender`` and ``block_domain`` actions by lower-cased target.

    Fed with every state of every action (:meth:`update`); a target is blocked while its
    action is ``active`` and its ``expires_at`` is still ahead, checked at each question, so
    a block ends on time even before the keeper publishes ``expired``. A pending action
    blocks nothing.
    """

    def __init__(self) -> None:
        self._blocks: dict[str, dict[str, dict[str, datetime | None]]] = {
            "block_sender": {},
            "block_domain": {},
        }
        """kind -> target -> the active actions on it (id -> expires_at). Actions are keyed by id
        on the topic, so an old action of a target may be read after its successor."""

    def update(self, action: Action) -> None:
        """Take the latest state of one action."""
        blocks = self._blocks[action.kind]
        target = action.target.lower()
        if action.state == "active":
            blocks.setdefault(target, {})[action.action_id] = action.expires_at
        elif target in blocks:
            blocks[target].pop(action.action_id, None)
            if not blocks[target]:
                del blocks[target]

    def __len__(self) -> int:
        """Targets blocked by at least one active action."""
        return sum(len(blocks) for blocks in self._blocks.values())

    def blocked(self, sender: str, now: datetime) -> str | None:
        """The action that blocks ``sender`` at ``now``: the address, or its domain or a parent
        domain of it by a ``block_domain``; None if nothing does. Case-insensitive."""
        sender = sender.strip().lower()
        found = self._live(self._blocks["block_sender"].get(sender), now)
        if found or "@" not in sender:
            return found
        labels = sender.rpartition("@")[2].split(".")
        domains = self._blocks["block_domain"]
        for start in range(len(labels) - 1):
            found = self._live(domains.get(".".join(labels[start:])), now)
            if found:
                return found
        return None

    @staticmethod
    def _live(actions: dict[str, datetime | None] | None, now: datetime) -> str | None:
        for action_id, expires_at in (actions or {}).items():
            if expires_at is None or now < expires_at:
                return action_id
        return None
