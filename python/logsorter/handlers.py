"""AWS Lambda entry points. Each handler only parses its event and calls a core
that takes its clients as arguments; clients and the compiled ruleset are built
once per container, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logsorter.classifier.app import ClassifierApp
    from logsorter.collator.app import CollatorApp

# Built on the first classify call, not at import: the environment a test or
# the runtime sets before that call is what configures the container.
_classifier: ClassifierApp | None = None


def classify(event: Any, context: Any) -> dict[str, Any]:
    """Classify CI logs: API Gateway, direct, S3 or SQS events."""
    global _classifier  # noqa: PLW0603 (one state per container, by design)
    if _classifier is None:
        from logsorter.classifier.app import ClassifierApp

        _classifier = ClassifierApp.from_env()
    return _classifier.handle_event(event, context)


# One per function and container, built on first use like the classifier's:
# the collator, the dead-letter collator and the forget function.
_collators: dict[str, CollatorApp] = {}


def _collator(service: str, *, dead_letter: bool = False) -> CollatorApp:
    if service not in _collators:
        from logsorter.collator.app import CollatorApp

        _collators[service] = CollatorApp.from_env(dead_letter=dead_letter, service=service)
    return _collators[service]


def collate(event: Any, context: Any) -> dict[str, Any]:
    """Collate phone-log uploads: S3 notifications, directly or in SQS batches.
    Transient failures raise (or fail their SQS message) so Lambda retries;
    rejected uploads get an error report and count as done."""
    return _collator("collator").handle(event, context)


def collate_dlq(event: Any, context: Any) -> dict[str, Any]:
    """The dead-letter collator: no upload size limit, and any wrapping of the
    failed event (on-failure destination, SQS, SNS, plain S3)."""
    return _collator("collator-dlq", dead_letter=True).handle(event, context)


def forget(event: Any, context: Any) -> dict[str, Any]:
    """Erase a user's (or device's) collated data: ``{"user_id": ...,
    "device_id": ...}``, optionally ``"uploads": true`` (the raw uploads
    too), ``"dry_run": true`` and ``"bucket"`` (when the function may touch
    several). Returns what was deleted, with counts and bytes."""
    return _collator("forget").forget(event, context)
