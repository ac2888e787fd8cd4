"""The tamper-evident audit trail: hash chain, append, verify, export."""
