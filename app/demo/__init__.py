"""The guided tour: ``kybgate demo`` and everything it needs, kept apart from the product.

Nothing under ``app/`` imports this package except the CLI (``app.demo.commands`` is listed in
``app.cli.COMMAND_MODULES``); the tests use ``app.demo.sandbox`` as their local Internet.

- ``loader``   — the 37 demo merchants, submitted through the same services as the API
- ``sales``    — their sales history, sent night by night by the back office, and the blacklist,
  so monitoring raises its alerts when they happened
- ``alert_desk`` — the demo analyst working each past day's alerts to a documented end
- ``review``   — demo staff, sample screening lists, assessments and decisions
- ``timeline`` — when each story happened, replayed oldest first so that audit events are dated
  when they happened and seq order is time order
- ``world``    — wires the sandbox servers as the lookup sources of the demo's assessments
- ``traffic``  — verification traffic through the real gateway path, for the dashboards
- ``commands`` — the ``kybgate demo`` command itself
- ``sandbox``  — real RDAP, WHOIS, DNS, website and SMTP servers on 127.0.0.1 (no lookup leaves
  the machine)

This module imports nothing, so ``import app.demo.sandbox`` stays light.
"""
