"""Sphinx configuration of the docs site (``make docs``; ``nox -s docs`` builds it as CI does:
warnings are errors, internal links checked)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]  # cronjobs from this checkout, and the extension

import cronjobs  # noqa: E402

project = "cronjobs"
author = "the cronjobs authors"
copyright = "the cronjobs authors"
release = version = cronjobs.__version__

extensions = ["myst_parser", "cronjobs_docs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "samples"]
# Every reference must resolve: a broken link between pages is a warning, and the build treats
# warnings as errors.
nitpicky = True
myst_heading_anchors = 3  # [text](page.md#a-heading) links to headings of levels 1-3
myst_enable_extensions = ["deflist"]

html_theme = "furo"
html_title = f"cronjobs {release}"
html_static_path: list[str] = []
pygments_style = "sphinx"
smartquotes = False  # messages, options and code are shown as the code writes them
