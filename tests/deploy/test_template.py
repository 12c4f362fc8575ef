"""deploy/template.yaml as CloudFormation receives it, after the SAM
transform: the functions of ``logsorter.functions`` with the memory, timeout
and permissions the README's Deploying section gives and no other grant, and
what moto cannot deploy (aliases, CodeDeploy, alarms, on-failure
destinations, the HTTP API) as AWS would create it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_support import Grant, readme_functions, readme_grants
from logsorter.functions import FUNCTIONS
from sam_template import EXAMPLE_PARAMETERS, load_template, translate
from support.paths import ROOT

Resources = dict[str, dict[str, Any]]

BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SQS_POLLER = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
CODEDEPLOY_FOR_LAMBDA = "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"
FUNCTION_IDS = (
    "ClassifierFunction",
    "CollatorFunction",
    "DeadLetterCollatorFunction",
    "ForgetFunction",
)


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


def live(function: str) -> dict[str, str]:
    """The reference to the function's ``live`` alias (its ARN)."""
    return {"Ref": f"{function}Aliaslive"}


class ResourceNames:
    """A policy's resources as the README writes them: S3 objects as
    ``bucket/key``, buckets by name, the table as ``table/name``, the stack's
    own resources ``{LogicalId}`` (an alias ``{Function:live}``), parameters
    without a default ``{Name}``."""

    def __init__(self, template: dict[str, Any], resources: Resources) -> None:
        self.parameters = template["Parameters"]
        self.resources = resources

    def __call__(self, expr: Any) -> str:
        if isinstance(expr, dict) and "Fn::GetAtt" in expr:
            return f"{{{expr['Fn::GetAtt'][0]}}}"
        if isinstance(expr, dict) and "Ref" in expr:
            return self.ref(expr["Ref"])
        text = expr["Fn::Sub"] if isinstance(expr, dict) else expr
        text = re.sub(r"\$\{([^}]+)\}", lambda m: self.substitution(m[1]), text)
        return re.sub(r"^arn:aws:(s3:::|dynamodb:\*:\*:)", "", text)

    def substitution(self, name: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": "*", "AWS::AccountId": "*"}
        return pseudo[name] if name in pseudo else self.ref(name)

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return str(self.parameters[name].get("Default") or f"{{{name}}}")
        resource = self.resources[name]
        if resource["Type"] == "AWS::Lambda::Alias":
            return f"{{{resource['Properties']['FunctionName']['Ref']}:live}}"
        return f"{{{name}}}"


def conditions(statement: dict[str, Any], names: ResourceNames) -> str:
    """A statement's conditions as the README's "only when" cell: each key
    and its values (resources as ``names`` writes them)."""
    words = []
    for by_key in statement.get("Condition", {}).values():
        for key, values in by_key.items():
            words += [key, *(names(v) for v in (values if isinstance(values, list) else [values]))]
    return " ".join(words)


def statements(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each statement of a policy document, with the template condition it
    depends on ("" for none): a ``Fn::If`` statement is there only when its
    condition holds."""
    for statement in document["Statement"]:
        if "Fn::If" in statement:
            condition, when_true, when_false = statement["Fn::If"]
            assert when_false == {"Ref": "AWS::NoValue"}
            yield when_true, condition
        else:
            yield statement, ""


def grants_of(who: str, document: dict[str, Any], names: ResourceNames) -> Iterator[Grant]:
    for statement, depends_on in statements(document):
        assert statement["Effect"] == "Allow"
        only_when = " ".join(filter(None, [depends_on, conditions(statement, names)]))
        actions = statement["Action"]
        targets = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for target in targets if isinstance(targets, list) else [targets]:
                yield who, action, names(target), only_when


def role_documents(resources: Resources, role_id: str) -> Iterator[dict[str, Any]]:
    """The inline policies of a role and those of the stack's own managed
    policies attached to it (AWS's own are asserted by name)."""
    role = resources[role_id]["Properties"]
    for policy in role.get("Policies", []):
        yield policy["PolicyDocument"]
    for arn in role["ManagedPolicyArns"]:
        if isinstance(arn, dict):
            yield resources[arn["Ref"]]["Properties"]["PolicyDocument"]


def template_grants(template: dict[str, Any], resources: Resources) -> set[Grant]:
    """What every function's role allows, and every policy outside a role."""
    names = ResourceNames(template, resources)
    readme = readme_functions()
    grants = set()
    attached = set()
    for handler, function in functions_by_handler(resources).items():
        role_id = function["Role"]["Fn::GetAtt"][0]
        attached |= {
            arn["Ref"]
            for arn in resources[role_id]["Properties"]["ManagedPolicyArns"]
            if isinstance(arn, dict)
        }
        for document in role_documents(resources, role_id):
            grants.update(grants_of(readme[handler]["name"], document, names))
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and logical_id not in attached:
            document = resource["Properties"]["PolicyDocument"]
            grants.update(grants_of(logical_id, document, names))
        if resource["Type"] == "AWS::SQS::QueuePolicy":
            document = resource["Properties"]["PolicyDocument"]
            grants.update(grants_of(logical_id, document, names))
    return grants


def test_every_function_is_in_the_template_with_its_handler_and_environment(
    resources: Resources,
) -> None:
    by_handler = functions_by_handler(resources)
    assert set(by_handler) == {function.handler for function in FUNCTIONS}
    for function in FUNCTIONS:
        props = by_handler[function.handler]
        assert props["PackageType"] == "Image"
        # AutoPublishAlias resolves the parameter, for the version's hash.
        assert props["Code"] == {"ImageUri": EXAMPLE_PARAMETERS["ImageUri"]}, "one image"
        assert props["Architectures"] == [{"Ref": "Architecture"}]
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


def test_no_wildcard_action_or_resource_in_the_stacks_own_policies(
    template: dict[str, Any], resources: Resources
) -> None:
    """A ``*`` stays only at the end of an object key prefix; the ``*``
    resources of AWS's managed policies are the next test's."""
    for _, action, resource, _ in template_grants(template, resources):
        assert "*" not in action
        assert resource != "*"
        assert "*" not in resource.removesuffix("/*").replace("arn:aws:bedrock:*::", ""), resource


def test_aws_managed_policies_are_logs_the_queue_poller_and_codedeploys(
    resources: Resources,
) -> None:
    """SAM attaches them: CloudWatch Logs to each function's role, the SQS
    poller to those that read a queue (all but the forget function),
    CodeDeploy's own to the rollout's role; their ``*`` resources are AWS's."""
    expected = {
        "logsorter.handlers.classify": {BASIC_EXECUTION, SQS_POLLER},
        "logsorter.handlers.collate": {BASIC_EXECUTION, SQS_POLLER},
        "logsorter.handlers.collate_dlq": {BASIC_EXECUTION, SQS_POLLER},
        "logsorter.handlers.forget": {BASIC_EXECUTION},
    }
    roles = set()
    for handler, function in functions_by_handler(resources).items():
        role_id = function["Role"]["Fn::GetAtt"][0]
        roles.add(role_id)
        role = resources[role_id]["Properties"]
        managed = {arn for arn in role["ManagedPolicyArns"] if isinstance(arn, str)}
        assert managed == expected[handler], handler
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": ["sts:AssumeRole"],
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com"]},
            }
        ]
    assert len(roles) == len(FUNCTIONS), "one role per function"
    other_roles = {
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and logical_id not in roles
    }
    assert other_roles == {"CodeDeployServiceRole"}
    assert resources["CodeDeployServiceRole"]["Properties"]["ManagedPolicyArns"] == [
        CODEDEPLOY_FOR_LAMBDA
    ]


def test_the_model_permission_exists_only_with_a_model(resources: Resources) -> None:
    (props,) = (p for h, p in functions_by_handler(resources).items() if h.endswith(".classify"))
    assert props["Environment"]["Variables"]["LOGSORTER_LLM_MODEL"] == {"Ref": "LlmModel"}
    role = resources[props["Role"]["Fn::GetAtt"][0]]["Properties"]
    model_statements = [
        (statement, depends_on)
        for policy in role["Policies"]
        for statement, depends_on in statements(policy["PolicyDocument"])
        if statement["Action"] == "bedrock:InvokeModel"
    ]
    assert [depends_on for _, depends_on in model_statements] == ["HasLlmModel"]


def test_every_variable_set_is_one_the_functions_read(resources: Resources) -> None:
    sources = "".join(p.read_text() for p in (ROOT / "python" / "logsorter").rglob("*.py"))
    for props in functions_by_handler(resources).values():
        for name in props["Environment"]["Variables"]:
            assert f'"{name}"' in sources, f"{name} is set but never read"


def test_collators_accept_only_the_upload_bucket(resources: Resources) -> None:
    for handler, props in functions_by_handler(resources).items():
        if ".collate" in handler or ".forget" in handler:
            assert props["Environment"]["Variables"]["LOGSORTER_UPLOAD_BUCKETS"] == {
                "Ref": "UploadBucketName"
            }


def test_what_writes_collated_logs_encrypts_with_the_key_it_may_use(resources: Resources) -> None:
    """The key parameter reaches every function that writes, and the KMS
    permission exists only when a key is set."""
    for handler, props in functions_by_handler(resources).items():
        if ".classify" in handler:
            continue
        assert props["Environment"]["Variables"]["LOGSORTER_KMS_KEY_ID"] == {"Ref": "KmsKeyArn"}
        role = resources[props["Role"]["Fn::GetAtt"][0]]["Properties"]
        kms = [
            (statement, depends_on)
            for document in role_documents(resources, props["Role"]["Fn::GetAtt"][0])
            for statement, depends_on in statements(document)
            if any(action.startswith("kms:") for action in statement["Action"])
        ]
        assert role["ManagedPolicyArns"]
        assert [
            (sorted(statement["Action"]), statement["Resource"], depends_on)
            for statement, depends_on in kms
        ] == [(["kms:Decrypt", "kms:GenerateDataKey"], {"Ref": "KmsKeyArn"}, "HasKmsKey")]


def test_the_template_creates_no_bucket(resources: Resources) -> None:
    """The buckets exist; the staging lifecycle rule is the README's snippet."""
    assert not [r for r in resources.values() if r["Type"] == "AWS::S3::Bucket"]


def rule_patterns(resources: Resources, target: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r["Properties"]["EventPattern"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
        and [t["Arn"] for t in r["Properties"]["Targets"]] == [target]
    ]


def object_created(bucket: Any, prefix: str) -> dict[str, Any]:
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }


def test_classifier_hears_new_logs_in_both_log_buckets(resources: Resources) -> None:
    patterns = rule_patterns(resources, live("ClassifierFunction"))
    assert sorted(patterns, key=str) == sorted(
        [
            object_created({"Ref": "LogBucketName"}, "log/"),
            object_created({"Ref": "TempLogBucketName"}, "temp_logs/"),
        ],
        key=str,
    )


def test_collator_hears_uploads_only_through_its_queue(resources: Resources) -> None:
    """Never its own writes under collated_logs/, which would loop."""
    queue = {"Fn::GetAtt": ["UploadQueue", "Arn"]}
    assert rule_patterns(resources, queue) == [
        object_created({"Ref": "UploadBucketName"}, "uploads/users/")
    ]
    for function in ("CollatorFunction", "DeadLetterCollatorFunction"):
        assert rule_patterns(resources, live(function)) == []


def mapping_of(resources: Resources, queue: str) -> dict[str, Any]:
    (mapping,) = (
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    )
    return mapping


@pytest.mark.parametrize(
    ("queue", "function", "handler"),
    [
        ("BackfillQueue", "ClassifierFunction", "logsorter.handlers.classify"),
        ("UploadQueue", "CollatorFunction", "logsorter.handlers.collate"),
        ("UploadDeadLetterQueue", "DeadLetterCollatorFunction", "logsorter.handlers.collate_dlq"),
    ],
)
def test_queues_feed_the_live_alias_and_report_failed_messages_alone(
    resources: Resources, queue: str, function: str, handler: str
) -> None:
    mapping = mapping_of(resources, queue)
    assert mapping["FunctionName"] == live(function)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    props = resources[queue]["Properties"]
    assert props["VisibilityTimeout"] >= 6 * readme_functions()[handler]["timeout"]
    dead_letters = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert resources[dead_letters]["Type"] == "AWS::SQS::Queue"


def test_what_keeps_failing_is_kept_on_a_queue_or_the_dead_letter_collator(
    resources: Resources,
) -> None:
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
    }
    assert configs == {
        "ClassifierFunction": two_retries_then(
            "ClassifierFunction", {"Fn::GetAtt": ["ClassifierFailureQueue", "Arn"]}
        ),
        "CollatorFunction": two_retries_then(
            "CollatorFunction", live("DeadLetterCollatorFunction")
        ),
        "DeadLetterCollatorFunction": two_retries_then(
            "DeadLetterCollatorFunction", {"Fn::GetAtt": ["CollatorFailureQueue", "Arn"]}
        ),
    }


def two_retries_then(function: str, destination: dict[str, Any]) -> dict[str, Any]:
    """The live alias's asynchronous settings, sending what still fails to ``destination``."""
    return {
        "FunctionName": {"Ref": function},
        "Qualifier": "live",
        "MaximumRetryAttempts": 2,
        "DestinationConfig": {"OnFailure": {"Destination": destination}},
    }


@pytest.mark.parametrize("function", FUNCTION_IDS)
def test_production_rolls_out_a_canary_that_alarms_roll_back(
    resources: Resources, function: str
) -> None:
    alias = resources[f"{function}Aliaslive"]
    assert alias["Properties"]["FunctionName"] == {"Ref": function}
    group_ref = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]
    group = resources[group_ref["Ref"]]["Properties"]
    condition, production, staging = group["DeploymentConfigName"]["Fn::If"]
    assert condition == "IsProduction"
    assert [production["Fn::Sub"][1], staging["Fn::Sub"][1]] == [
        {"ConfigName": "Canary10Percent5Minutes"},
        {"ConfigName": "AllAtOnce"},
    ]
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    alarms = [
        resources[a["Name"]["Ref"]]["Properties"] for a in group["AlarmConfiguration"]["Alarms"]
    ]
    assert sorted(a["MetricName"] for a in alarms) == ["Errors", "Throttles"]
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/Lambda"
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_the_collator_failure_queue_alarms_when_it_holds_anything(resources: Resources) -> None:
    alarm = resources["CollatorFailuresAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["CollatorFailureQueue", "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [
        {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
    ]


def test_http_route_reaches_the_live_classifier(resources: Resources) -> None:
    body = resources["ServerlessHttpApi"]["Properties"]["Body"]
    assert list(body["paths"]) == ["/classify"]
    route = body["paths"]["/classify"]
    assert list(route) == ["get"]
    uri = route["get"]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    assert "${ClassifierFunctionAliaslive}" in uri


def test_outputs_give_function_arns_the_api_url_and_every_queue(
    template: dict[str, Any], resources: Resources
) -> None:
    outputs = template["Outputs"]
    for function in FUNCTION_IDS:
        assert outputs[f"{function}Arn"]["Value"] == {"Ref": f"{function}.Alias"}
    assert "/classify" in outputs["ClassifyUrl"]["Value"]["Fn::Sub"]
    queues = {logical_id for logical_id, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    assert {f"{queue}Url" for queue in queues} <= set(outputs)
