"""The OpenAPI document of the API as checked-in text (docs/openapi.json).

``python -m mql.api.openapi docs/openapi.json`` (or ``mql serve --write-openapi PATH``)
rewrites it; a test fails when the checked-in file differs from `document()`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mql.api.app import create_app
from mql.settings import Settings


def document() -> str:
    """The OpenAPI document as stable JSON text (sorted keys, two-space indent)."""
    app = create_app(Settings(database_url="sqlite://", dev=True))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def write(path: Path) -> None:
    """Write the document to `path`."""
    path.write_text(document(), encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/openapi.json"))
