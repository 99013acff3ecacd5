"""The devices' service: the writes (versions, history, optimistic retries) and the queries."""
