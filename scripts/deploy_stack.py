"""Create or update the logsorter stack: template.yaml translated here (see
sam_template.py), then CloudFormation through boto3, so a deploy needs AWS
credentials and nothing else installed.

    python scripts/deploy_stack.py --stack logsorter --image-uri URI --upload-bucket NAME \\
        [--parameter Key=Value ...]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError
from sam_template import load_template, translate

#: The template creates roles with names of CloudFormation's choosing.
CAPABILITIES = ["CAPABILITY_IAM"]


def deploy(cloudformation: Any, stack: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    """Create ``stack``, or update it when it exists; wait for the result and
    return the stack as CloudFormation describes it. Raises when the stack
    does not reach a complete state (CloudFormation has rolled it back)."""
    template = translate(load_template(), dict(parameters), cloudformation.meta.region_name)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--image-uri", required=True, help="as `make push` printed it")
    parser.add_argument("--upload-bucket", required=True, help="the bucket the stack creates")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another template parameter (repeatable)",
    )
    args = parser.parse_args()
    parameters = {"ImageUri": args.image_uri, "UploadBucketName": args.upload_bucket}
    for pair in args.parameter:
        key, separator, value = pair.partition("=")
        if not separator:
            parser.error(f"--parameter {pair!r} is not KEY=VALUE")
        parameters[key] = value
    described = deploy(boto3.client("cloudformation"), args.stack, parameters)
    print(f"{args.stack}: {described['StackStatus']}")
    for output in described.get("Outputs", []):
        print(f"  {output['OutputKey']}: {output['OutputValue']}")


if __name__ == "__main__":
    main()
