"""The compliance officers' console: users, roles, triage, audit, the alert API and its page."""
