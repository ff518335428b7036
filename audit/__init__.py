"""The audit log: privileged actions recorded in the caller's transaction, read by leaders."""
