"""The table's change stream: change events, their publisher, fleet statistics."""
