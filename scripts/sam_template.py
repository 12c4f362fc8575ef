"""deploy/template.yaml (SAM) to the CloudFormation template AWS deploys, translated
here with the SAM translator CloudFormation itself runs, so that the roles,
rules and permissions it generates can be read and tested before a deploy.

    python scripts/sam_template.py --out dist/template.json
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "template.yaml"
#: Translation needs a region (the partition of the ARNs it writes follows
#: from it); the template itself names none.
DEFAULT_REGION = "us-east-1"
#: Stand-ins for the parameters without a default. Translation carries most
#: parameters through as references; AutoPublishAlias resolves ImageUri into
#: each function (its version's hash), so a deploy translates with its own.
EXAMPLE_PARAMETERS = {
    "Stage": "production",
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/logsorter:example",
    "UploadBucketName": "logsorter-uploads-example",
}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template, short-form intrinsics (``!Ref``...) as their long form."""
    template: dict[str, Any] = yaml_parse(path.read_text())
    return template


def translate(
    template: dict[str, Any],
    parameters: dict[str, str] = EXAMPLE_PARAMETERS,
    region: str = DEFAULT_REGION,
) -> dict[str, Any]:
    """The CloudFormation template CloudFormation's SAM transform makes of
    ``template``. The template names no managed policy, so none is looked up."""
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    translated: dict[str, Any] = translator.translate(
        json.loads(json.dumps(template)),
        parameter_values=dict(parameters),
        get_managed_policy_map=dict,
    )
    return translated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", nargs="?", type=Path, default=TEMPLATE)
    parser.add_argument("--out", type=Path, required=True, help="where the JSON goes")
    args = parser.parse_args()
    # The translator warns of each feature toggle it has no configuration
    # for, which offline translation never has.
    logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
    translated = translate(load_template(args.template))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(translated, indent=2, sort_keys=True) + "\n")
    count = len(translated["Resources"])
    print(f"{args.template.relative_to(ROOT)} translated into {args.out} ({count} resources)")


if __name__ == "__main__":
    main()
