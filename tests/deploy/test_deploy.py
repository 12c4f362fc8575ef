"""The deployment `make deploy` makes, into a moto server over HTTP: the
translated template deployed through CloudFormation (scripts/deploy_stack.py,
what `sam deploy` does), then the functions, roles, rules, queues and
mappings read back with boto3, and objects put into the buckets followed
through the deployed EventBridge rules (and the upload queue) to the handlers.

moto's CloudFormation skips the aliases (``for_moto`` points what refers to
them at the functions), CodeDeploy, the alarms and the alarm subscription,
the on-failure destinations (``AWS::Lambda::EventInvokeConfig``), the upload
queue's policy and the HTTP API, and it keeps neither image settings
(command, architecture) nor the attachment of managed policies to roles:
test_template asserts all of those from the translated template.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from deploy_stack import deploy, stage_parameters
from deploy_support import Grant, readme_functions, readme_grants, readme_section
from logsorter import handlers
from logsorter.classifier.config import (
    DEFAULT_JOBS_TABLE,
    DEFAULT_LOG_BUCKET,
    DEFAULT_TEMP_LOG_BUCKET,
)
from logsorter.classifier.jobs_table import KEY_ATTRIBUTE, VERDICT_ATTRIBUTE
from logsorter.functions import FUNCTIONS
from sam_template import load_template, translate
from support.events import sqs_event
from support.paths import ROOT
from support.uploads import upload

pytestmark = [
    pytest.mark.integration,
    # The resources moto skips, each named by test_everything_moto_supports_is_created.
    pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning"),
]

STACK = "logsorter-staging"
UPLOAD_BUCKET = "logsorter-uploads-test"
#: The committed example, on the buckets and table the fixture creates.
PARAMETERS = {
    **stage_parameters("staging", ROOT / "deploy" / "staging.env.example"),
    "LogBucketName": DEFAULT_LOG_BUCKET,
    "TempLogBucketName": DEFAULT_TEMP_LOG_BUCKET,
    "UploadBucketName": UPLOAD_BUCKET,
    "JobsTableName": DEFAULT_JOBS_TABLE,
}
MOTO_SKIPS = {
    "AWS::Lambda::Alias",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
}
#: What the README grants that this deployment does not hold: the staging
#: example sets no model nor KMS key, and moto skips the upload queue's policy.
NOT_DEPLOYED = ("HasLlmModel", "HasKmsKey", "UploadQueuePolicy")
DEVICE = "uploads/users/u1/serial1/d1/"
FAILING_LOG = "+ python test/run_test.py\nFAILED test_ops.py::TestOps::test_mul - AssertionError\n"


@dataclass(frozen=True)
class Deployed:
    #: The translated template that was deployed.
    template: dict[str, Any]
    #: Physical id by logical id, as the stack lists them.
    physical: dict[str, str]

    def of_type(self, resource_type: str) -> list[str]:
        return [
            logical_id
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type and logical_id in self.physical
        ]

    def handler(self, logical_id: str) -> str:
        command: list[str] = self.template["Resources"][logical_id]["Properties"]["ImageConfig"][
            "Command"
        ]
        return command[0]

    def function(self, handler: str) -> str:
        """The deployed name of the function with this handler."""
        (logical_id,) = (
            f for f in self.of_type("AWS::Lambda::Function") if self.handler(f) == handler
        )
        return self.physical[logical_id]


def for_moto(translated: dict[str, Any]) -> dict[str, Any]:
    """``translated`` with every reference to a ``live`` alias (its ARN)
    pointing at its function's ARN instead: moto's CloudFormation creates no
    alias, and drops whatever refers to one. test_template asserts the
    aliases and what refers to them."""
    aliases = {
        logical_id: {"Fn::GetAtt": [resource["Properties"]["FunctionName"]["Ref"], "Arn"]}
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Alias"
    }

    def redirect(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in aliases:
                return aliases[node["Ref"]]
            return {key: redirect(value) for key, value in node.items()}
        if isinstance(node, list):
            return [redirect(value) for value in node]
        return node

    adapted: dict[str, Any] = redirect(translated)
    return adapted


def enable_eventbridge(s3: Any, bucket: str) -> None:
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )


@pytest.fixture
def deployed(aws: str) -> Deployed:
    """The stack, beside the buckets and jobs table it expects to exist."""
    s3 = boto3.client("s3")
    for bucket in (DEFAULT_LOG_BUCKET, DEFAULT_TEMP_LOG_BUCKET, UPLOAD_BUCKET):
        s3.create_bucket(Bucket=bucket)
        enable_eventbridge(s3, bucket)
    boto3.client("dynamodb").create_table(
        TableName=DEFAULT_JOBS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
    )
    cloudformation = boto3.client("cloudformation")
    template = translate(load_template(), PARAMETERS)
    described = deploy(cloudformation, STACK, for_moto(template), PARAMETERS)
    assert described["StackStatus"] == "CREATE_COMPLETE"
    listed = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    return Deployed(template, {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed})


def test_everything_moto_supports_is_created(deployed: Deployed) -> None:
    resources = deployed.template["Resources"]
    skipped = {logical_id for logical_id in resources if logical_id not in deployed.physical}
    assert {resources[logical_id]["Type"] for logical_id in skipped} == MOTO_SKIPS


def test_functions_have_the_readmes_memory_timeout_and_their_environment(
    deployed: Deployed,
) -> None:
    readme = readme_functions()
    lambda_ = boto3.client("lambda")
    for function in FUNCTIONS:
        config = lambda_.get_function_configuration(
            FunctionName=deployed.function(function.handler)
        )
        expected = readme[function.handler]
        assert (config["MemorySize"], config["Timeout"]) == (
            expected["memory"],
            expected["timeout"],
        )
        variables = config["Environment"]["Variables"]
        assert variables.items() >= function.environment.items()
        if ".collate" in function.handler:
            assert variables["LOGSORTER_UPLOAD_BUCKETS"] == UPLOAD_BUCKET


class DeployedNames:
    """Deployed ARNs as the README's permissions table writes them (see
    test_template's ``ResourceNames``)."""

    def __init__(self, deployed: Deployed) -> None:
        self.own = {}
        sqs = boto3.client("sqs")
        for logical_id in deployed.of_type("AWS::SQS::Queue"):
            arn = sqs.get_queue_attributes(
                QueueUrl=deployed.physical[logical_id], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            self.own[arn] = f"{{{logical_id}}}"
        lambda_ = boto3.client("lambda")
        for logical_id in deployed.of_type("AWS::Lambda::Function"):
            name = deployed.physical[logical_id]
            arn = lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            # Where the live alias is referred to (for_moto).
            self.own[arn] = f"{{{logical_id}:live}}"

    def __call__(self, arn: str) -> str:
        if arn in self.own:
            return self.own[arn]
        name = arn.removeprefix("arn:aws:s3:::")
        name = name.replace(UPLOAD_BUCKET, "{UploadBucketName}", 1)
        if arn.startswith("arn:aws:dynamodb:"):
            name = arn.split(":", 5)[5]
        return name


def document_grants(who: str, document: Any, names: DeployedNames) -> Iterator[Grant]:
    if isinstance(document, str):
        # moto keeps the inline policies CloudFormation gives a role as the
        # Python repr of the document, where AWS keeps JSON.
        document = ast.literal_eval(document)
    # A statement under a false Fn::If is dropped as null.
    for statement in filter(None, document["Statement"]):
        only_when = " ".join(
            word
            for by_key in statement.get("Condition", {}).values()
            for key, values in by_key.items()
            for word in [key, *([values] if isinstance(values, str) else values)]
        )
        actions = statement["Action"]
        targets = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for target in [targets] if isinstance(targets, str) else targets:
                yield who, action, names(target), only_when


def managed_document(iam: Any, arn: str) -> Any:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def test_roles_grant_exactly_the_readmes_permissions(deployed: Deployed) -> None:
    iam = boto3.client("iam")
    names = DeployedNames(deployed)
    readme = readme_functions()
    grants: set[Grant] = set()
    attached = set()
    for logical_id in deployed.of_type("AWS::Lambda::Function"):
        who = readme[deployed.handler(logical_id)]["name"]
        role_id = deployed.template["Resources"][logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        role_properties = deployed.template["Resources"][role_id]["Properties"]
        role = deployed.physical[role_id]
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            grants.update(document_grants(who, document, names))
        # moto attaches no managed policy to the roles CloudFormation creates,
        # so which are attached is the template's (AWS's own are asserted by
        # name in test_template); what they grant is read from IAM.
        for arn in role_properties["ManagedPolicyArns"]:
            if isinstance(arn, dict):
                policy_arn = deployed.physical[arn["Ref"]]
                attached.add(policy_arn)
                document = managed_document(iam, policy_arn)
                grants.update(document_grants(who, document, names))
    for logical_id in deployed.of_type("AWS::IAM::ManagedPolicy"):
        arn = deployed.physical[logical_id]
        if arn not in attached:
            grants.update(document_grants(logical_id, managed_document(iam, arn), names))
    assert grants == {g for g in readme_grants() if not set(NOT_DEPLOYED) & {g[0], g[3]}}


def tap(deployed: Deployed, rule_logical_id: str) -> str:
    """A queue in place of the deployed rule's function, receiving the events
    as AWS delivers them: moto runs no function, and a Lambda target makes it
    drop the event for every rule and target after it."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"tap-{rule_logical_id}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events")
    rule = deployed.physical[rule_logical_id]
    (function_target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
    events.remove_targets(Rule=rule, Ids=[function_target["Id"]])
    events.put_targets(Rule=rule, Targets=[{"Id": "tap", "Arn": arn}])
    return url


def received(url: str) -> list[str]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [m["Body"] for m in messages.get("Messages", [])]


def rules_of(deployed: Deployed, function: str) -> list[str]:
    """The rules whose target is the function's live alias."""
    return [
        logical_id
        for logical_id in deployed.of_type("AWS::Events::Rule")
        if deployed.template["Resources"][logical_id]["Properties"]["Targets"][0]["Arn"]
        == {"Ref": f"{function}Aliaslive"}
    ]


def queue_arn(deployed: Deployed, logical_id: str) -> str:
    arn: str = boto3.client("sqs").get_queue_attributes(
        QueueUrl=deployed.physical[logical_id], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    return arn


def mappings_of(deployed: Deployed, queue: str) -> list[dict[str, Any]]:
    """The event source mappings reading the queue (moto lists none by the
    function's name once the mapping names it by ARN)."""
    listed = boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    arn = queue_arn(deployed, queue)
    return [mapping for mapping in listed if mapping["EventSourceArn"] == arn]


def test_rules_match_object_created_under_their_prefix_and_target_the_function_or_queue(
    deployed: Deployed,
) -> None:
    events = boto3.client("events")
    function_arn = boto3.client("lambda").get_function(
        FunctionName=deployed.physical["ClassifierFunction"]
    )["Configuration"]["FunctionArn"]
    expected = {
        "ClassifierFunctionLogCreated": (DEFAULT_LOG_BUCKET, "log/", function_arn),
        "ClassifierFunctionTempLogCreated": (DEFAULT_TEMP_LOG_BUCKET, "temp_logs/", function_arn),
        "UploadCreatedRule": (
            UPLOAD_BUCKET,
            "uploads/users/",
            queue_arn(deployed, "UploadQueue"),
        ),
    }
    assert set(deployed.of_type("AWS::Events::Rule")) == set(expected)
    for logical_id, (bucket, prefix, target) in expected.items():
        rule = deployed.physical[logical_id]
        assert json.loads(events.describe_rule(Name=rule)["EventPattern"]) == {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
        }
        assert [t["Arn"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]] == [target]


def test_queues_feed_their_function_and_redrive_to_their_dead_letter_queue(
    deployed: Deployed,
) -> None:
    lambda_ = boto3.client("lambda")
    sqs = boto3.client("sqs")
    for queue, dead_letters, function in (
        ("BackfillQueue", "BackfillDeadLetterQueue", "ClassifierFunction"),
        ("UploadQueue", "UploadDeadLetterQueue", "CollatorFunction"),
        ("UploadDeadLetterQueue", "CollatorFailureQueue", "DeadLetterCollatorFunction"),
    ):
        (mapping,) = mappings_of(deployed, queue)
        function_arn = lambda_.get_function(FunctionName=deployed.physical[function])[
            "Configuration"
        ]["FunctionArn"]
        assert mapping["FunctionArn"] == function_arn
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=deployed.physical[queue], AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == queue_arn(deployed, dead_letters)


def deployed_environment(deployed: Deployed, handler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process configured as the deployed function is."""
    config = boto3.client("lambda").get_function_configuration(
        FunctionName=deployed.function(handler)
    )
    for name, value in config["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value)


def test_uploads_reach_the_collator_through_its_queue_and_its_own_writes_do_not(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_ = boto3.client("lambda")
    # moto would run the collator's image for each message (and keeps
    # invoking a deleted mapping); this test runs the handler on what the
    # queue holds instead.
    for mapping in mappings_of(deployed, "UploadQueue"):
        lambda_.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    # moto drops an event for every rule after one with a Lambda target.
    for rule in rules_of(deployed, "ClassifierFunction"):
        tap(deployed, rule)
    s3 = boto3.client("s3")
    enable_eventbridge(s3, UPLOAD_BUCKET)
    record = {"address": "+15550001", "date": 1_690_000_000_000, "type": 1, "body": "hi", "read": 1}
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=DEVICE + "sms-1.ndjson.gz", Body=upload([record]))
    s3.put_object(Bucket=UPLOAD_BUCKET, Key="collated_logs/x.txt", Body=b"not an upload")
    bodies = received(deployed.physical["UploadQueue"])
    assert [json.loads(b)["detail"]["object"]["key"] for b in bodies] == [
        DEVICE + "sms-1.ndjson.gz"
    ]
    deployed_environment(deployed, "logsorter.handlers.collate", monkeypatch)
    monkeypatch.setattr(handlers, "_collators", {})
    assert handlers.collate(sqs_event(*bodies), None) == {"batchItemFailures": []}
    listed = s3.list_objects_v2(Bucket=UPLOAD_BUCKET, Prefix="collated_logs/current/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [
        "collated_logs/current/sms/user-u1/device-d1.parquet"
    ]


def test_new_logs_reach_the_classifier_in_both_buckets(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [tap(deployed, rule) for rule in rules_of(deployed, "ClassifierFunction")]
    s3 = boto3.client("s3")
    s3.put_object(Bucket=DEFAULT_LOG_BUCKET, Key="log/2001", Body=FAILING_LOG.encode())
    s3.put_object(Bucket=DEFAULT_LOG_BUCKET, Key="other/2002", Body=b"not a log")
    s3.put_object(Bucket=DEFAULT_TEMP_LOG_BUCKET, Key="temp_logs/2003", Body=FAILING_LOG.encode())
    bodies = [body for url in urls for body in received(url)]
    keys = sorted(json.loads(body)["detail"]["object"]["key"] for body in bodies)
    assert keys == ["log/2001", "temp_logs/2003"]
    deployed_environment(deployed, "logsorter.handlers.classify", monkeypatch)
    monkeypatch.setattr(handlers, "_classifier", None)
    assert handlers.classify(sqs_event(*bodies), None) == {"batchItemFailures": []}
    item = boto3.client("dynamodb").get_item(
        TableName=DEFAULT_JOBS_TABLE, Key={KEY_ATTRIBUTE: {"S": "pytorch/pytorch/2001"}}
    )["Item"]
    assert VERDICT_ATTRIBUTE in item


def test_a_second_deploy_updates_the_stack_in_place(deployed: Deployed) -> None:
    cloudformation = boto3.client("cloudformation")
    parameters = {**PARAMETERS, "CreateMissingJobs": "false"}
    described = deploy(
        cloudformation, STACK, for_moto(translate(load_template(), parameters)), parameters
    )
    assert described["StackStatus"] == "UPDATE_COMPLETE"
    config = boto3.client("lambda").get_function_configuration(
        FunctionName=deployed.function("logsorter.handlers.classify")
    )
    assert config["Environment"]["Variables"]["LOGSORTER_CREATE_MISSING_JOBS"] == "false"


def test_the_readmes_lifecycle_snippet_applies_to_the_upload_bucket(deployed: Deployed) -> None:
    """The staging rule the template cannot set on a bucket it does not own."""
    section = readme_section("Deploying")
    start = section.index("```json\n") + len("```json\n")
    snippet = json.loads(section[start : section.index("```", start)])
    s3 = boto3.client("s3")
    s3.put_bucket_lifecycle_configuration(Bucket=UPLOAD_BUCKET, LifecycleConfiguration=snippet)
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=UPLOAD_BUCKET)["Rules"]
    assert rule["Filter"] == {"Prefix": "collated_logs/staging/"}
    assert rule["Expiration"] == {"Days": 7}
