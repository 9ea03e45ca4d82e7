"""The Faust app, its topics, tables and agents, and the ``compliance-monitor`` CLI."""
