"""Checks of the rendered report as a reader gets it: HTML in a real browser, PDF as pages.

- `outputcheck.browser`: headless Chromium loads an HTML file from disk, network blocked, and
  reports console errors, non-local requests, images, links, text, tables, figures, screenshot.
- `outputcheck.pdf`: poppler-utils rasterise and read a PDF: blank pages, ink outside the
  margins, the text layer.

Each needs an external program. `require` turns "not installed" into a pytest skip that names
the reason, or into a failure when the environment variable that says the tool is required is
set to 1 (CI sets `JAKISURVEY_REQUIRE_TOOLS=1`), so a
missing tool is never counted as a pass and never silently skipped where it must run.
"""

from __future__ import annotations

import os

import pytest


def require(problem: str | None, env: str) -> None:
    """Skip the test for `problem` (a missing tool), or fail it when `env` is set to 1."""
    if problem is None:
        return
    if os.environ.get(env) == "1":
        pytest.fail(f"{problem} ({env}=1 requires it)", pytrace=False)
    pytest.skip(f"{problem} (set {env}=1 to make this a failure)")
