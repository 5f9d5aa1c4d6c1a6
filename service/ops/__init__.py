"""Operations on a data dir: check, backup and restore, re-index jobs."""
