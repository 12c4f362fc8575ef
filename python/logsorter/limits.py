"""Size ceilings on what a function decompresses, so a small file that
expands to gigabytes is refused with a clear error instead of taking the
function down. A ceiling is set in megabytes by a variable, or defaults to a
share of the Lambda function's memory."""

from __future__ import annotations

from collections.abc import Mapping

#: Set by Lambda: the function's memory in megabytes.
MEMORY_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
#: The share of the function's memory one input may take once decompressed:
#: parsing needs a few times the text beside it, and the runtime the rest.
MEMORY_SHARE = 4
MIB = 1024 * 1024


def megabytes(environ: Mapping[str, str], name: str) -> int | None:
    """The variable ``name`` as bytes (it holds megabytes); None when unset."""
    value = environ.get(name)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of megabytes") from None
    if number <= 0:
        raise ValueError(f"{name}={value!r} must be above 0")
    return int(number * MIB)


def share_of_memory(environ: Mapping[str, str]) -> int | None:
    """A quarter of the Lambda function's memory, in bytes; None outside Lambda."""
    memory = megabytes(environ, MEMORY_ENV)
    return None if memory is None else memory // MEMORY_SHARE


def ceiling(environ: Mapping[str, str], name: str) -> int | None:
    """The variable ``name`` when set, else a share of the function's memory."""
    explicit = megabytes(environ, name)
    return explicit if explicit is not None else share_of_memory(environ)
