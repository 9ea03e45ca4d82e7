"""``python -m streams`` is the ``compliance-monitor`` command."""

from streams.cli import main

main()
