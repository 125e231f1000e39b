"""template.yaml as CloudFormation will see it: SAM's own transform
(aws-sam-translator, installed with cfn-lint by tests/run.sh), then checks
that every event in tests/events/ is a route of the API, served by the
function of its group, and that exactly the messages and tenant routes stream
(ResponseTransferMode STREAM, InvokeWithResponseStream's URI)."""

import json
import os
import pathlib
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Groups whose function answers in Lambda's response-streaming mode.
STREAMING_GROUPS = ("messages", "tenant")
GROUP_FUNCTION = {
    "sessions": "SessionsFunction",
    "messages": "MessagesFunction",
    "files": "FilesFunction",
    "tenant": "TenantFunction",
}


class NoManagedPolicies:
    def load(self):
        return {}


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template, matches = decode(str(ROOT / "template.yaml"))
    if matches:
        sys.exit(f"template.yaml does not parse: {matches}")
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # `sam build` puts the built artefact here.
            resource["Properties"]["CodeUri"] = "s3://artefacts/function.zip"
    out = transform(template, {}, NoManagedPolicies())
    apis = [r for r in out["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    if len(apis) != 1:
        sys.exit(f"expected one REST API, found {len(apis)}")
    paths = apis[0]["Properties"]["Body"]["paths"]

    failures = []
    seen = set()
    events = sorted((ROOT / "tests" / "events").glob("*.json"))
    for path in events:
        event = json.loads(path.read_text())
        group = path.stem.split("-")[0]
        resource, method = event["resource"], event["httpMethod"].lower()
        seen.add((resource, method))
        operation = paths.get(resource, {}).get(method)
        if operation is None:
            failures.append(f"{path.name}: {method.upper()} {resource} is not a route of the API")
            continue
        integration = operation["x-amazon-apigateway-integration"]
        uri = integration["uri"]["Fn::Sub"]
        if f"${{{GROUP_FUNCTION[group]}.Arn}}" not in uri:
            failures.append(f"{path.name}: served by {uri}, not {GROUP_FUNCTION[group]}")
        streams = integration.get("responseTransferMode") == "STREAM"
        streaming_uri = uri.endswith("/response-streaming-invocations")
        if (group in STREAMING_GROUPS) != streams or streams != streaming_uri:
            failures.append(
                f"{path.name}: responseTransferMode={integration.get('responseTransferMode')}, uri={uri}"
            )
    routes = {
        (p, m) for p, ops in paths.items() for m in ops if m not in ("options", "parameters")
    }
    for p, m in sorted(routes - seen):
        failures.append(f"{m.upper()} {p} has no sample event in tests/events/")
    if failures:
        sys.exit("template check failed:\n  " + "\n  ".join(failures))
    print(f"template: {len(routes)} routes, one sample event each; the messages and tenant routes stream")


if __name__ == "__main__":
    main()
