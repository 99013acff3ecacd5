"""The ``registry`` command: a client of the Device Registry API (contract v2, "Command-line client")."""
