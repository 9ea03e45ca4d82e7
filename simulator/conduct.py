"""Cases of a collection agency's own agents breaking (or keeping) the rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from simulator.base import CompanyTraffic
from simulator.company import (
    AGENCY_PBX,
    COMPLIANT_AGENT_LINES,
    CUSTOMER_LINES,
    DISCLOSING_THIRD_PARTY,
    HELLO,
    LAWFUL_THIRD_PARTY,
    THREATS,
)


class Conduct(CompanyTraffic):
    """Cases of a collection agency's own agents breaking (or keeping) the rules."""

    def _collection_call(self, when: datetime, debtor: dict, label: str | None = None) -> tuple:
        """An ordinary, lawful collection call: self-identification, then a short exchange."""
        answered = self.rng.random() < 0.5
        exchanges = self.rng.randrange(1, 4)
        agent_lines = [HELLO, *(self.rng.choice(COMPLIANT_AGENT_LINES) for _ in range(exchanges))]
        replies = [self.rng.choice(CUSTOMER_LINES) for _ in range(exchanges)]
        return self._agent_call(when, debtor, agent_lines, label, answered=answered, replies=replies)

    def _agent_call(
        self,
        when: datetime,
        debtor: dict,
        lines: list[str],
        label: str | None,
        role: str = "debtor",
        answered: bool = True,
        number: str | None = None,
        replies: list[str] | None = None,
    ) -> tuple:
        """A collection agent's call: ``lines`` said by the agent, each after the next reply."""
        agent = self.rng.choice(self.agents)
        turns: list[tuple[str, str]] = []
        for i, text in enumerate(lines):
            if i and replies and i - 1 < len(replies):
                turns.append(("customer", replies[i - 1]))
            turns.append(("agent", text.format(agent=agent, amount=5000)))
        transcript = (
            [{"speaker": who, "text": text, "start_s": 1.0 + 6 * k} for k, (who, text) in enumerate(turns)]
            if answered
            else None
        )
        collection = {
            "agent_id": agent,
            "case_id": debtor["case_id"],
            "debtor_id": debtor["debtor_id"],
            "contact_role": role,
        }
        return self._call(
            when,
            AGENCY_PBX,
            number or debtor["phone"],
            "outbound",
            label=label,
            answered=answered,
            collection=collection,
            transcript=transcript,
        )

    def _conduct_cases(self, day: date) -> Iterator[tuple]:
        rng = self.rng
        hello = HELLO
        debtor, label = next(self._spare_debtors), f"conduct.daily_conversation_cap#{next(self._case)}"
        for k in range(4):
            yield self._agent_call(self._at(day, 9 + 2 * k), debtor, [hello, COMPLIANT_AGENT_LINES[k]], label)
        debtor, label = (
            next(self._spare_debtors),
            f"near_miss:conduct.daily_conversation_cap#{next(self._case)}",
        )
        for k in range(3):
            yield self._agent_call(self._at(day, 9 + 2 * k), debtor, [hello, COMPLIANT_AGENT_LINES[k]], label)
        debtor, label = next(self._spare_debtors), f"conduct.daily_attempt_cap#{next(self._case)}"
        for k in range(7):
            yield self._agent_call(self._at(day, 9 + 1.5 * k), debtor, [], label, answered=False)
        debtor, label = next(self._spare_debtors), f"near_miss:conduct.daily_attempt_cap#{next(self._case)}"
        for k in range(6):
            yield self._agent_call(self._at(day, 9 + 1.5 * k), debtor, [], label, answered=False)
        debtor, label = next(self._spare_debtors), f"conduct.call_bombing#{next(self._case)}"
        start = self._at(day, rng.uniform(10, 17))
        for k in range(rng.randint(3, 5)):
            yield self._agent_call(start + timedelta(minutes=2 * k), debtor, [], label, answered=False)
        debtor, label = next(self._spare_debtors), f"near_miss:conduct.call_bombing#{next(self._case)}"
        for k in range(3):
            yield self._agent_call(self._at(day, 10 + 0.25 * k), debtor, [], label, answered=False)
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 10),
            debtor,
            [DISCLOSING_THIRD_PARTY],
            f"conduct.third_party_disclosure#{next(self._case)}",
            role="emergency_contact",
            number=self._mobile(),
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 10),
            debtor,
            [LAWFUL_THIRD_PARTY],
            f"near_miss:conduct.third_party_disclosure#{next(self._case)}",
            role="third_party",
            number=self._mobile(),
        )
        debtor, label = (
            next(self._spare_debtors),
            f"conduct.third_party_contact_without_cause#{next(self._case)}",
        )
        yield self._agent_call(self._at(day, 9), debtor, [hello, COMPLIANT_AGENT_LINES[0]], label)
        yield self._agent_call(
            self._at(day, 15), debtor, [LAWFUL_THIRD_PARTY], label, role="third_party", number=self._mobile()
        )
        debtor = next(self._spare_debtors)
        label = f"near_miss:conduct.third_party_contact_without_cause#{next(self._case)}"
        yield self._agent_call(self._at(day, 9), debtor, [hello], label)
        yield self._agent_call(
            self._at(day + timedelta(days=4), 10),
            debtor,
            [LAWFUL_THIRD_PARTY],
            label,
            role="third_party",
            number=self._mobile(),
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 14),
            debtor,
            [hello, rng.choice(THREATS)],
            f"conduct.prohibited_language#{next(self._case)}",
        )
        debtor = next(self._spare_debtors)
        lawful = [hello, "如果一直不还，我们将依法向法院起诉。"]
        yield self._agent_call(
            self._at(day, 14), debtor, lawful, f"near_miss:conduct.prohibited_language#{next(self._case)}"
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 16),
            debtor,
            ["喂，你什么时候还钱？", "今天必须处理。", "听到没有？"],
            f"conduct.missing_identification#{next(self._case)}",
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 16),
            debtor,
            ["喂，您好。", hello, "请您尽快安排还款。"],
            f"near_miss:conduct.missing_identification#{next(self._case)}",
        )
