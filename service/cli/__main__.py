"""``python -m service.cli``: the same as ``tmsearch``."""

from service.cli import app

app()
