"""The append-only audit log: `from audit import services as audit; audit.record(...)`."""
