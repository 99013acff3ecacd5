"""Moved to ``tests.support``; this name stays only until the last import of it is changed."""

from tests.support import LEAKS, assert_problem, error_fields

__all__ = ["LEAKS", "assert_problem", "error_fields"]
