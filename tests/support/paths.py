"""Where the tests find the repository and the third-party data beside it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Third-party compatibility data (`shared/` beside the checkout, as in CI);
#: tests that need it skip when it is absent.
SHARED = ROOT.parent / "shared"
