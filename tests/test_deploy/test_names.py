"""The name check the deployment tests rely on: settings are told from unknown ``CM_*`` names."""

from tests.test_deploy.names import is_setting, unknown_cm_variables


def test_settings_and_nested_settings_are_known_and_a_typo_is_not():
    assert is_setting("CM_KAFKA_BROKER") and is_setting("CM_LOG_FORMAT")
    assert is_setting("CM_TOPICS__CALLS") and is_setting("CM_KAFKA__PROTOCOL")
    assert not is_setting("CM_KAFKA_BROKERS") and not is_setting("CM_TOPICS__PHONE")
    assert not is_setting("CM_WEB_PORT__X") and not is_setting("KAFKA_BROKER")
    assert unknown_cm_variables({"CM_WEBHOOK_SECRET_MAILGW", "CM_PARTITION"}) == {"CM_PARTITION"}
