"""Where the repository is, for tests that read its files or start processes in it."""

from __future__ import annotations

from pathlib import Path

#: The repository's root directory (the parent of ``tests/``).
ROOT = Path(__file__).resolve().parents[2]
