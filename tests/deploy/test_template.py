"""template.yaml as CloudFormation receives it, after the SAM transform: the
functions of ``logsorter.functions``, with the memory, timeout and
permissions the README's Deploying section gives, and no other grant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_support import Grant, readme_functions, readme_grants
from logsorter.functions import FUNCTIONS
from sam_template import load_template, translate
from support.paths import ROOT

Resources = dict[str, dict[str, Any]]

BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SQS_POLLER = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> Resources:
    translated: Resources = translate(template)["Resources"]
    return translated


def functions_by_handler(resources: Resources) -> dict[str, dict[str, Any]]:
    found = {}
    for props in (
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
    ):
        (handler,) = props["ImageConfig"]["Command"]
        found[handler] = props
    return found


class ResourceNames:
    """A policy's resources as the README writes them: S3 objects as
    ``bucket/key``, buckets by name, the table as ``table/name``, the stack's
    own queues and functions ``{LogicalId}``, parameters without a default
    ``{Name}``."""

    def __init__(self, template: dict[str, Any], resources: Resources) -> None:
        self.parameters = template["Parameters"]
        self.resources = resources

    def __call__(self, expr: Any) -> str:
        if isinstance(expr, dict) and "Fn::GetAtt" in expr:
            return self.attribute(*expr["Fn::GetAtt"])
        if isinstance(expr, dict) and "Ref" in expr:
            return self.ref(expr["Ref"])
        text = expr["Fn::Sub"] if isinstance(expr, dict) else expr
        text = re.sub(r"\$\{([^}]+)\}", lambda m: self.substitution(m[1]), text)
        return re.sub(r"^arn:aws:(s3:::|dynamodb:\*:\*:)", "", text)

    def substitution(self, name: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": "*", "AWS::AccountId": "*"}
        if name in pseudo:
            return pseudo[name]
        if "." in name:
            logical_id, attribute = name.split(".")
            return self.attribute(logical_id, attribute, arn=True)
        return self.ref(name)

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return str(self.parameters[name].get("Default", f"{{{name}}}"))
        resource = self.resources[name]
        if resource["Type"] == "AWS::S3::Bucket":
            return self(resource["Properties"]["BucketName"])
        return f"{{{name}}}"

    def attribute(self, logical_id: str, attribute: str, *, arn: bool = False) -> str:
        assert attribute == "Arn"
        resource = self.resources[logical_id]
        if resource["Type"] == "AWS::S3::Bucket":
            name = self.ref(logical_id)
            return f"arn:aws:s3:::{name}" if arn else name
        return f"{{{logical_id}}}"


def statements(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each (action, resource expression) an allowing policy document grants."""
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, "no conditions"
        actions = statement["Action"]
        targets = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for target in targets if isinstance(targets, list) else [targets]:
                yield action, target


def template_grants(template: dict[str, Any], resources: Resources) -> set[Grant]:
    """What every function's role and every policy outside a role allows."""
    names = ResourceNames(template, resources)
    readme = readme_functions()
    grants = set()
    attached = set()
    for handler, function in functions_by_handler(resources).items():
        who = readme[handler]["name"]
        role = resources[function["Role"]["Fn::GetAtt"][0]]["Properties"]
        documents = [policy["PolicyDocument"] for policy in role.get("Policies", [])]
        for arn in role["ManagedPolicyArns"]:
            if isinstance(arn, dict):
                attached.add(arn["Ref"])
                documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
        for document in documents:
            grants.update((who, action, names(res)) for action, res in statements(document))
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and logical_id not in attached:
            document = resource["Properties"]["PolicyDocument"]
            grants.update((logical_id, action, names(res)) for action, res in statements(document))
    return grants


def test_every_function_is_in_the_template_with_its_handler_and_environment(
    resources: Resources,
) -> None:
    by_handler = functions_by_handler(resources)
    assert set(by_handler) == {function.handler for function in FUNCTIONS}
    for function in FUNCTIONS:
        props = by_handler[function.handler]
        assert props["PackageType"] == "Image"
        assert props["Code"] == {"ImageUri": {"Ref": "ImageUri"}}, "one image for all"
        assert props["Environment"]["Variables"].items() >= function.environment.items()


def test_memory_and_timeout_are_the_readmes(resources: Resources) -> None:
    readme = readme_functions()
    assert set(readme) == {function.handler for function in FUNCTIONS}
    for handler, props in functions_by_handler(resources).items():
        assert (props["MemorySize"], props["Timeout"]) == (
            readme[handler]["memory"],
            readme[handler]["timeout"],
        ), readme[handler]["name"]


def test_permissions_are_exactly_the_readmes(
    template: dict[str, Any], resources: Resources
) -> None:
    assert template_grants(template, resources) == readme_grants()


def test_no_grant_reaches_uploads_for_writing(
    template: dict[str, Any], resources: Resources
) -> None:
    writes = {
        res
        for _, action, res in template_grants(template, resources)
        if action in ("s3:PutObject", "s3:DeleteObject")
    }
    assert writes == {"{UploadBucketName}/collated_logs/*"}


def test_aws_managed_policies_are_logs_and_the_queue_poller(resources: Resources) -> None:
    """SAM attaches them: CloudWatch Logs for every function, and the SQS
    poller for the classifier, which reads the backfill queue."""
    for handler, function in functions_by_handler(resources).items():
        role = resources[function["Role"]["Fn::GetAtt"][0]]["Properties"]
        managed = {arn for arn in role["ManagedPolicyArns"] if isinstance(arn, str)}
        expected = (
            {BASIC_EXECUTION, SQS_POLLER} if handler.endswith(".classify") else {BASIC_EXECUTION}
        )
        assert managed == expected, handler
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": ["sts:AssumeRole"],
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com"]},
            }
        ]


def test_every_variable_set_is_one_the_functions_read(resources: Resources) -> None:
    sources = "".join(p.read_text() for p in (ROOT / "python" / "logsorter").rglob("*.py"))
    for props in functions_by_handler(resources).values():
        for name in props["Environment"]["Variables"]:
            assert f'"{name}"' in sources, f"{name} is set but never read"


def test_collators_accept_only_the_upload_bucket(resources: Resources) -> None:
    for handler, props in functions_by_handler(resources).items():
        if ".collate" in handler:
            assert props["Environment"]["Variables"]["LOGSORTER_UPLOAD_BUCKETS"] == {
                "Ref": "UploadBucket"
            }


def rules_of(resources: Resources, handler: str) -> list[dict[str, Any]]:
    target_ids = {
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["ImageConfig"]["Command"] == [handler]
    }
    return [
        r["Properties"]["EventPattern"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
        and {t["Arn"]["Fn::GetAtt"][0] for t in r["Properties"]["Targets"]} & target_ids
    ]


def object_created(bucket: Any, prefix: str) -> dict[str, Any]:
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }


def test_classifier_hears_new_logs_in_both_log_buckets(resources: Resources) -> None:
    patterns = rules_of(resources, "logsorter.handlers.classify")
    assert sorted(patterns, key=str) == sorted(
        [
            object_created({"Ref": "LogBucketName"}, "log/"),
            object_created({"Ref": "TempLogBucketName"}, "temp_logs/"),
        ],
        key=str,
    )


def test_collator_hears_uploads_only(resources: Resources) -> None:
    """Never its own writes under collated_logs/, which would loop."""
    assert rules_of(resources, "logsorter.handlers.collate") == [
        object_created({"Ref": "UploadBucket"}, "uploads/users/")
    ]
    assert rules_of(resources, "logsorter.handlers.collate_dlq") == []
    bucket = resources["UploadBucket"]["Properties"]
    assert bucket["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_what_keeps_failing_is_kept_on_a_queue_or_the_dead_letter_collator(
    resources: Resources,
) -> None:
    """moto's CloudFormation does not create these, so they are checked here."""
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
    }
    assert configs == {
        "ClassifierFunction": two_retries_then("ClassifierFunction", "ClassifierFailureQueue"),
        "CollatorFunction": two_retries_then("CollatorFunction", "DeadLetterCollatorFunction"),
        "DeadLetterCollatorFunction": two_retries_then(
            "DeadLetterCollatorFunction", "CollatorFailureQueue"
        ),
    }


def two_retries_then(function: str, destination: str) -> dict[str, Any]:
    """The asynchronous invocation settings that send what still fails to ``destination``."""
    return {
        "FunctionName": {"Ref": function},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [destination, "Arn"]}}},
    }


def test_http_route_reaches_the_classifier(resources: Resources) -> None:
    """Also one moto's CloudFormation skips."""
    body = resources["ServerlessHttpApi"]["Properties"]["Body"]
    assert list(body["paths"]) == ["/classify"]
    route = body["paths"]["/classify"]
    assert list(route) == ["get"]
    uri = route["get"]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    assert "${ClassifierFunction.Arn}" in uri


def test_backfill_queue_reports_failed_messages_alone(resources: Resources) -> None:
    (mapping,) = (
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    )
    assert mapping["FunctionName"] == {"Ref": "ClassifierFunction"}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["BackfillQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources["BackfillQueue"]["Properties"]
    assert (
        queue["VisibilityTimeout"]
        >= 6 * readme_functions()["logsorter.handlers.classify"]["timeout"]
    )


def test_upload_bucket_is_private_and_expires_staged_diffs(resources: Resources) -> None:
    bucket = resources["UploadBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["LifecycleConfiguration"]["Rules"] == [
        {
            "Id": "expire-staged-diffs",
            "Status": "Enabled",
            "Prefix": "collated_logs/staging/",
            "ExpirationInDays": 7,
        }
    ]
