"""The Lambda functions this package serves, defined once: the ``invoke``
command, the local stack and (checked by the packaging and deployment tests)
the compose file, the container image and deploy/template.yaml all follow this list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Function:
    #: As ``logsorter invoke`` names it.
    name: str
    #: As docker-compose.yml names its service.
    service: str
    #: The import path Lambda's runtime is given (the image's CMD).
    handler: str
    #: Where the local stack serves its invoke route on loopback.
    local_port: int
    #: Variables the deployment sets for this function beyond the shared ones.
    environment: Mapping[str, str] = field(default_factory=dict)


#: The first is the container image's default.
FUNCTIONS = (
    Function("classify", "classifier", "logsorter.handlers.classify", 9001),
    Function(
        "collate",
        "collator",
        "logsorter.handlers.collate",
        9002,
        # The dead-letter collator, without the limit, takes what is larger.
        {"LOGSORTER_MAX_UPLOAD_MB": "64"},
    ),
    Function("collate-dlq", "collator-dlq", "logsorter.handlers.collate_dlq", 9003),
    # Invoked by whatever automates erasure requests, with no trigger of its own.
    Function("forget", "forget", "logsorter.handlers.forget", 9004),
)
FUNCTIONS_BY_NAME = {function.name: function for function in FUNCTIONS}
