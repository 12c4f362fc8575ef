"""Two denials the least-privilege rules promise, proven on the translated
template's roles with a small evaluator of identity policies: a request is
allowed only when an Allow statement matches its action, its resource and
all its conditions (the template has no Deny, and no resource policy on the
buckets is the stack's). Every optional grant is counted in (a model set),
and so are AWS's managed policies SAM attaches, as AWS publishes them."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sam_template import EXAMPLE_PARAMETERS, load_template, translate

Document = dict[str, Any]

ACCOUNT = "123456789012"
REGION = "us-east-1"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PARAMETERS = {**EXAMPLE_PARAMETERS, "LlmModel": "anthropic.claude-example", "KmsKeyArn": KMS_KEY}
UPLOADS = PARAMETERS["UploadBucketName"]
#: What SAM attaches, as AWS publishes the documents.
AWS_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}
#: Every S3 action that changes an object or its metadata.
OBJECT_WRITES = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:RestoreObject",
    "s3:AbortMultipartUpload",
)


class Role:
    """The statements of one function's role, resolved for PARAMETERS."""

    def __init__(self, translated: dict[str, Any], function: str) -> None:
        self.template = translated
        self.conditions = {"IsProduction": True, "HasLlmModel": True, "HasKmsKey": True}
        resources = translated["Resources"]
        role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
        documents: list[Document] = [p["PolicyDocument"] for p in role.get("Policies", [])]
        statements: list[Document] = []
        for arn in role["ManagedPolicyArns"]:
            if isinstance(arn, dict):
                documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
            else:
                statements += AWS_MANAGED[arn]
        for document in documents:
            statements += self.present(document["Statement"])
        self.statements = [self.resolve(statement) for statement in statements]

    def present(self, statements: list[Any]) -> Iterator[Document]:
        for statement in statements:
            if "Fn::If" in statement:
                condition, when_true, when_false = statement["Fn::If"]
                chosen = when_true if self.conditions[condition] else when_false
                if chosen != {"Ref": "AWS::NoValue"}:
                    yield chosen
            else:
                yield statement

    def resolve(self, node: Any) -> Any:
        """Intrinsics to strings: parameters by value, the stack's own
        resources as ``arn:aws:stack:::LogicalId`` (no S3 pattern matches it)."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "Fn::Sub" in node:
            return re.sub(r"\$\{([^}]+)\}", lambda m: self.name(m[1]), node["Fn::Sub"])
        if "Ref" in node:
            return self.name(node["Ref"])
        if "Fn::GetAtt" in node:
            return self.name(node["Fn::GetAtt"][0])
        return {key: self.resolve(value) for key, value in node.items()}

    def name(self, reference: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        if reference in pseudo:
            return pseudo[reference]
        if reference in PARAMETERS:
            return PARAMETERS[reference]
        default = self.template["Parameters"].get(reference, {}).get("Default")
        return str(default) if default is not None else f"arn:aws:stack:::{reference}"

    def allows(self, action: str, resource: str, context: Mapping[str, str] = {}) -> bool:
        return any(
            statement["Effect"] == "Allow"
            and matches(statement["Action"], action)
            and matches(statement["Resource"], resource)
            and holds(statement.get("Condition", {}), context)
            for statement in self.statements
        )

    def s3_actions(self) -> set[str]:
        """Every S3 action some statement names (a pattern counts as itself)."""
        return {
            action
            for statement in self.statements
            for action in as_list(statement["Action"])
            if action.lower().startswith("s3:") or action == "*"
        }


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def matches(patterns: Any, value: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one (actions
    compared without case)."""
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in as_list(patterns))


def holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """Every operator and key must hold; a key the request lacks fails."""
    for operator, by_key in condition.items():
        for key, values in by_key.items():
            if key not in context:
                return False
            if operator in ("StringLike", "ArnLike"):
                ok = matches(values, context[key])
            elif operator in ("StringEquals", "ArnEquals"):
                ok = context[key] in as_list(values)
            else:
                raise NotImplementedError(f"condition operator {operator}")
            if not ok:
                return False
    return True


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate(load_template(), PARAMETERS)


@pytest.mark.parametrize("function", ["CollatorFunction", "DeadLetterCollatorFunction"])
def test_the_collator_roles_cannot_write_under_uploads(
    translated: dict[str, Any], function: str
) -> None:
    role = Role(translated, function)
    for key in ("uploads/users/u1/serial1/d1/sms-1.ndjson.gz", "uploads/other", "uploads/"):
        for action in OBJECT_WRITES:
            # Deleting an erased user's late upload is the one exception.
            if action == "s3:DeleteObject" and key.startswith("uploads/users/"):
                continue
            assert not role.allows(action, f"arn:aws:s3:::{UPLOADS}/{key}"), (action, key)
    assert role.allows("s3:DeleteObject", f"arn:aws:s3:::{UPLOADS}/uploads/users/u1/s/d/x")
    # What they need, so that the evaluator is seen to allow at all.
    assert role.allows("s3:PutObject", f"arn:aws:s3:::{UPLOADS}/collated_logs/current/x")
    assert role.allows("s3:GetObject", f"arn:aws:s3:::{UPLOADS}/uploads/users/u1/s/d/x")
    bucket = f"arn:aws:s3:::{UPLOADS}"
    # Unscoped, so that a GET of a key not there yet is a 404, not a 403.
    assert role.allows("s3:ListBucket", bucket)


def test_the_forget_role_writes_only_tombstones_and_uses_only_the_key(
    translated: dict[str, Any],
) -> None:
    role = Role(translated, "ForgetFunction")
    bucket = f"arn:aws:s3:::{UPLOADS}"
    assert role.allows("s3:PutObject", f"{bucket}/collated_logs/forgotten/user-u1.json")
    for key in ("collated_logs/current/sms/user-u1/device-d1.parquet", "uploads/users/u1/s/d/x"):
        assert not role.allows("s3:PutObject", f"{bucket}/{key}"), key
        assert role.allows("s3:DeleteObject", f"{bucket}/{key}"), key
    assert not role.allows("s3:DeleteObject", f"{bucket}/other/x")
    for function in ("ForgetFunction", "CollatorFunction", "DeadLetterCollatorFunction"):
        role = Role(translated, function)
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert role.allows(action, KMS_KEY), (function, action)
            assert not role.allows(action, KMS_KEY.replace("1234abcd", "99999999")), function


def test_the_classifier_role_cannot_write_to_s3(translated: dict[str, Any]) -> None:
    role = Role(translated, "ClassifierFunction")
    assert role.s3_actions() == {"s3:GetObject", "s3:ListBucket"}
    for bucket in ("ossci-raw-job-status", "gha-artifacts", UPLOADS):
        for key in ("log/1", "temp_logs/1", "collated_logs/x", "anything"):
            for action in OBJECT_WRITES:
                assert not role.allows(action, f"arn:aws:s3:::{bucket}/{key}"), (action, key)
    assert role.allows("s3:GetObject", "arn:aws:s3:::ossci-raw-job-status/log/1")
    assert not role.allows("s3:GetObject", "arn:aws:s3:::ossci-raw-job-status/other/1")
