"""The domain: the words, records, values, errors and rules of devices and credentials (standard library only)."""
