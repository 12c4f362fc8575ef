"""A stage's template parameters, read from the deploy/STAGE.env file a user
writes, and the deployment `sam deploy` makes of them: deploy/template.yaml
translated by the SAM transform (sam_template.py), then a CloudFormation
stack created or updated with them. `make deploy` runs the SAM CLI with the
parameters this prints; the tests deploy through ``deploy`` into moto, which
the SAM CLI cannot target.

    python scripts/deploy_stack.py --stage staging deploy/staging.env
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

#: The template creates roles with names of CloudFormation's choosing.
CAPABILITIES = ["CAPABILITY_IAM"]


def deploy(
    cloudformation: Any, stack: str, template: dict[str, Any], parameters: Mapping[str, str]
) -> dict[str, Any]:
    """Create ``stack`` from ``template`` (translated, see sam_template.py),
    or update it when it exists; wait for the result and return the stack as
    CloudFormation describes it. Raises when the stack does not reach a
    complete state (CloudFormation has rolled it back)."""
    request = {
        "StackName": stack,
        "TemplateBody": json.dumps(template),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": CAPABILITIES,
    }
    if stack_exists(cloudformation, stack):
        try:
            cloudformation.update_stack(**request)
        except ClientError as err:
            if "No updates are to be performed" not in str(err):
                raise
        else:
            cloudformation.get_waiter("stack_update_complete").wait(StackName=stack)
    else:
        cloudformation.create_stack(**request)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=stack)
    described: dict[str, Any] = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return described


def stack_exists(cloudformation: Any, stack: str) -> bool:
    try:
        cloudformation.describe_stacks(StackName=stack)
    except ClientError as err:
        if "does not exist" in str(err):
            return False
        raise
    return True


def stage_parameters(stage: str, env_file: Path) -> dict[str, str]:
    """``Stage`` and the ``Key=Value`` lines of ``env_file`` (``#`` comments
    and blank lines aside); an empty value keeps the template's default."""
    parameters = {"Stage": stage}
    for number, raw in enumerate(env_file.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if not separator:
            raise ValueError(f"{env_file}:{number}: not Key=Value: {line!r}")
        if value:
            parameters[key.strip()] = value.strip()
    return parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, choices=["staging", "production"])
    parser.add_argument("env_file", type=Path, help="deploy/STAGE.env")
    args = parser.parse_args()
    parameters = stage_parameters(args.stage, args.env_file)
    # As `sam deploy --parameter-overrides` takes them.
    print(" ".join(f"{key}={value}" for key, value in parameters.items()))


if __name__ == "__main__":
    main()
