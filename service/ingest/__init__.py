"""Batch ingest: the ledger that lets a batch resume, the Ray executor."""
