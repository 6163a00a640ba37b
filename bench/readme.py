"""Writing a benchmark's result block into bench/README.md (between its markers)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).with_name("README.md")


def record(name: str, text: str, heading: str, command: str) -> None:
    """Replace the `name` block, or append it under `heading` with the command to rerun."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text}\n{end}"
    readme = README.read_text()
    if begin in readme:
        readme = re.sub(re.escape(begin) + ".*?" + re.escape(end), block, readme, flags=re.S)
    else:
        readme += f"\n## {heading}\n\n```sh\n{command}\n```\n\n{block}\n"
    README.write_text(readme)
