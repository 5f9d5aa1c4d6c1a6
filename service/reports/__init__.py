"""Batch reports (CSV, PDF) and the jobs that make them."""
