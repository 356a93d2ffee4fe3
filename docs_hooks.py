"""MkDocs hook: a placeholder for each announced page that is not in docs/ yet.

Some pages are written on other branches (the Python API, hyperparameter search, the
results report, the bounds on bad input, the test guide) and merged separately; the
pages here already link to them. Until a page is merged, the build gets a one-line
placeholder in its place (outside the nav), so `mkdocs build --strict` still checks
every other link. Once every page below exists this hook does nothing: delete it and
its line in mkdocs.yml.
"""
from __future__ import annotations

import logging
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel

#: page -> title of the pages announced but written elsewhere
PENDING = {
    "search.md": "Hyperparameter search",
}

log = logging.getLogger("mkdocs.hooks.pending")


def on_files(files: Files, config: Any) -> Files:
    for page, title in PENDING.items():
        if files.get_file_from_path(page) is None:
            log.info("docs/%s is not merged yet: a placeholder stands in", page)
            files.append(File.generated(
                config, page, content=f"# {title}\n\nThis page is not written yet.\n",
                inclusion=InclusionLevel.NOT_IN_NAV))
    return files
