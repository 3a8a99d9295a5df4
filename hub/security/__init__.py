"""Who may do what: clients and keys, allow-lists, rate limits, the audit log, secrets at rest, retention."""
