"""Batch routes: many registrations or status reports in one request, each item on its own."""
