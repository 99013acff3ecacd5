"""Reading a synthesized CloudFormation template: API paths, methods, roles and policies."""

from __future__ import annotations

import json
from typing import Any

Template = dict[str, Any]


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def only(template: Template, kind: str) -> dict[str, Any]:
    found = list(resources(template, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def resource_paths(template: Template) -> dict[str, str]:
    """Logical id of each API Gateway resource → its path, e.g. ``/devices/{device_id}``."""
    parts = {
        name: (r["Properties"]["ParentId"], r["Properties"]["PathPart"])
        for name, r in resources(template, "AWS::ApiGateway::Resource").items()
    }

    def path(name: str) -> str:
        parent, part = parts[name]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""  # else: the API's root resource
        return f"{prefix}/{part}"

    return {name: path(name) for name in parts}


def methods(template: Template) -> dict[tuple[str, str], dict[str, Any]]:
    """``(path, HTTP method)`` → the method's properties."""
    paths = resource_paths(template)
    found = {}
    for method in resources(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        found[(path, props["HttpMethod"])] = props
    return found


def integration_target(template: Template, method: dict[str, Any]) -> str | None:
    """The logical id of the Lambda function a proxy integration invokes, directly or
    through its published version (what SnapStart stages invoke)."""
    uri = json.dumps(method["Integration"].get("Uri", ""))
    for part in uri.split('"Fn::GetAtt": ["')[1:]:
        return part.split('"')[0]
    for part in uri.split('"Ref": "')[1:]:
        resource = template["Resources"].get(part.split('"')[0], {})
        if resource.get("Type") in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
            return str(resource["Properties"]["FunctionName"]["Ref"])
    return None


def role_of(template: Template, function_id: str) -> str:
    return str(template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0])


def statements_of_role(template: Template, role_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    role = template["Resources"][role_id]["Properties"]
    for inline in role.get("Policies", []):
        found += inline["PolicyDocument"]["Statement"]
    return found


def statements_by_role(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Every role's statements, from its inline policies and the IAM policies attached to it."""
    return {role: statements_of_role(template, role) for role in resources(template, "AWS::IAM::Role")}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for s in statements if s["Effect"] == "Allow" for action in as_list(s["Action"])}


def render(value: Any) -> str:
    """A template string with its intrinsic functions flattened: Fn::Join joined, and any
    other token shown as ``<Ref>``/``<GetAtt>`` so the text can be parsed and read."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(part) for part in parts)
    if isinstance(value, dict):
        return "<" + next(iter(value)).replace("Fn::", "") + ">"
    return str(value)
