"""The operators' side of device credentials: create, list, revoke."""
