"""AWS Lambda entry points. Each handler only parses its event and calls a core
that takes its clients as arguments; clients and the compiled ruleset are built
once per container, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logsorter.classifier.service import Classifier

# Built on the first classify call, not at import: the environment a test or
# the runtime sets before that call is what configures the container.
_classifier: Classifier | None = None


def classify(event: Any, context: Any) -> dict[str, Any]:
    """Classify CI logs: API Gateway, direct, S3 or SQS events."""
    global _classifier  # noqa: PLW0603 (one state per container, by design)
    if _classifier is None:
        from logsorter.classifier.service import Classifier

        _classifier = Classifier.from_env()
    return _classifier.handle_event(event, context)
