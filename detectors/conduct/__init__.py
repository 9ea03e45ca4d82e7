"""A collection agency's own agents (category ``conduct``), keyed by debtor."""
