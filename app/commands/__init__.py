"""Feature command groups of ``kybgate`` (registered through ``app.cli.COMMAND_MODULES``)."""
