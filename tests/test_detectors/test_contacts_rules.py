from datetime import UTC, datetime

from tests.factories import SHANGHAI, at, contact, employee, mobile, office
from tests.test_detectors.helpers import of_rule, policy, run

STAFF = [employee(f"E{i}", office(i), mobile(i)) for i in range(1, 4)]
FAMILY = "+8613911112222"


def test_colleague_by_phone_or_by_relation():
    rule = "contacts.colleague_as_emergency_contact"
    [alert] = of_rule(run([*STAFF, contact("E1", mobile(2), at(0), relation="friend")]), rule)
    assert alert.subject.id == "E1" and alert.details["colleague"] == "E2" and alert.severity == "low"
    assert of_rule(run([*STAFF, contact("E1", FAMILY, at(0), relation="colleague")]), rule)
    assert not of_rule(run([*STAFF, contact("E1", FAMILY, at(0), relation="spouse")]), rule)
    assert not of_rule(run([*STAFF, contact("E1", mobile(1), at(0))]), rule)  # one's own phone
    left = [*STAFF, employee("E2", office(2), mobile(2), status="left"), contact("E1", mobile(2), at(0))]
    assert not of_rule(run(left), rule)


def test_office_number_or_switchboard_as_contact():
    rule = "contacts.office_number_as_contact"
    [alert] = of_rule(run([*STAFF, contact("E1", "021-60000000", at(0))]), rule)
    assert alert.details["switchboard"] is True and alert.severity == "medium"
    assert of_rule(run([*STAFF, contact("E1", office(3), at(0))]), rule)
    assert not of_rule(run([*STAFF, contact("E1", mobile(3), at(0))]), rule)
    assert not of_rule(run([*STAFF, contact("E1", office(3), at(0), action="removed")]), rule)


def day(month, d, hour=10):
    return datetime(2026, month, d, hour, tzinfo=SHANGHAI)


def changes(*days):
    return [contact("E1", f"+86139{n:08d}", when, action="updated") for n, when in enumerate(days)]


def test_frequent_changes_two_days_beyond_the_first_in_one_quarter():
    rule = "contacts.frequent_changes"
    assert not of_rule(run(changes(day(7, 1), day(7, 1, 15), day(8, 3))), rule)  # first day + one day
    [alert] = of_rule(run(changes(day(7, 1), day(8, 3), day(9, 20))), rule)
    assert alert.details["change_days"] == ["2026-08-03", "2026-09-20"]
    assert not of_rule(run(changes(day(7, 1), day(9, 30), day(10, 1))), rule)  # across quarters


def test_frequent_changes_uses_local_days():
    late_evening_utc = datetime(2026, 8, 3, 15, 30, tzinfo=UTC)  # 23:30 on 3 August in Shanghai
    same_local_day = [day(7, 1), datetime(2026, 8, 3, 9, tzinfo=SHANGHAI), late_evening_utc]
    assert not of_rule(run(changes(*same_local_day)), "contacts.frequent_changes")
    strict = policy({"contacts.frequent_changes": {"max_change_days": 0}})
    assert of_rule(run(changes(day(7, 1), day(8, 3)), strict), "contacts.frequent_changes")
