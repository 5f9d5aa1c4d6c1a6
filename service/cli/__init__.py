"""``tmsearch``: ingest, search, remove, re-index, inspect and serve a register.

A thin face over :class:`service.register.Register`: parse arguments, call, format. Exit
codes: 0 all went well, 1 some items failed (each reported on stderr), 2 usage errors.

One module per command group; importing them registers their commands on ``app`` (the
``tmsearch`` entry point), in the order ``tmsearch --help`` lists them.
"""

# isort: off
from service.cli import marks  # noqa: F401
from service.cli import search  # noqa: F401
from service.cli import browse  # noqa: F401
from service.cli import maintenance  # noqa: F401
from service.cli import serve  # noqa: F401
from service.cli import watch  # noqa: F401
from service.cli import keys  # noqa: F401
from service.cli import db  # noqa: F401
# isort: on
from service.cli.app import app

__all__ = ["app"]
