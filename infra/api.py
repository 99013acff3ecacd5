"""The REST API, generated from the route table: one method per route with its Lambda,
Cognito scope and cache settings, and a HEAD beside every GET answered by the same function; a
405 problem for every verb a known path does not serve; CORS preflights answered by mocks when
the stage allows origins; API Gateway's own errors rewritten as RFC 9457 problem documents; the
custom domain and its base path mapping when the stage names one."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jsii
from aws_cdk import Aws, CfnResource, CfnRule, CfnRuleAssertion, Duration, Fn, IStableStringProducer, Lazy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.auth import Auth, DeviceAuthorizer
from infra.functions import Functions
from infra.gateway_problems import add_gateway_responses, method_not_allowed_body
from infra.nag import LOGS_WITHOUT_CMK, acknowledge, skip_checkov
from infra.stage import LOW_ACCOUNT_THROTTLE, LOW_THROTTLE_REGIONS, StageConfig, Throttle, low_throttle_message
from registry.http import cors
from registry.http.problems import PROBLEM_JSON
from registry.http.routes import DEVICE, ROUTES, Route

CACHE_CLUSTER_SIZE = "0.5"  # GB, the smallest: every cached answer is a small JSON document
# The verbs a path of ours does not declare answer 405 with an Allow header (HEAD is declared
# wherever GET is); OPTIONS is the CORS preflight where the stage allows origins, else a 405 too
# (as the local server answers). The 405 problem names the verb API Gateway was asked for.
VERB_OF_REQUEST = "$context.httpMethod"
# Conditional GETs (registry/http/edge.py) answer 304 to an If-None-Match naming the current ETag:
# the header is part of every cached GET's key, so a 304 is only ever served to a request that
# names the same tags (docs/caching.md). Origin too where CORS is on: answers differ by origin.
CONDITIONAL_HEADER = "If-None-Match"
ORIGIN_HEADER = "Origin"
# The body types our writes accept (and requests without a body, which count as JSON): the
# 405 mocks answer these; any other type gets the 415 problem first.
MOCK_MEDIA_TYPES = ("application/json", "application/merge-patch+json")
# What a cache-invalidation request (Cache-Control: max-age=0) needs, applied per method. An
# unauthorized one is served as if the header were absent (from the cache, no warning header):
# browsers send it on every reload, and a 403 for reloading a page would be wrong.
INVALIDATION_REQUIRES_AUTHORIZATION = "true"
UNAUTHORIZED_INVALIDATION = "SUCCEED_WITHOUT_RESPONSE_HEADER"


def key_headers(stage: StageConfig) -> list[str]:
    """The request headers that change a cached GET answer (see CONDITIONAL_HEADER)."""
    return [CONDITIONAL_HEADER, *([ORIGIN_HEADER] if stage.cors_origins else [])]


def cache_key_parameters(route: Route, stage: StageConfig) -> list[str]:
    """The request parts that change a GET answer: its path ids, the route's query parameters and
    the headers an answer depends on."""
    return (
        [f"method.request.path.{name}" for name in route.path_parameters]
        + [f"method.request.querystring.{name}" for name in route.query]
        + [f"method.request.header.{name}" for name in key_headers(stage)]
    )


def request_parameters(route: Route, stage: StageConfig) -> dict[str, bool]:
    """Declared request parameters (required: path ids; optional: the cache-key query parameters
    and, on a GET, the cache-key headers)."""
    headers = key_headers(stage) if route.method == "GET" else []
    return {
        **{f"method.request.path.{name}": True for name in route.path_parameters},
        **{f"method.request.querystring.{name}": False for name in route.query},
        **{f"method.request.header.{name}": False for name in headers},
    }


def method_settings_path(route: Route) -> str:
    """The stage's method-settings key for a route, e.g. ``/devices/{device_id}/GET``."""
    return f"{route.path}/{route.method}"


def patch_resource_path(route: Route) -> str:
    """The escaped form UpdateStage patch paths use, e.g. ``/~1devices~1{device_id}/GET``."""
    return "/" + route.path.replace("/", "~1") + "/" + route.method


def cached_routes() -> list[Route]:
    return [route for route in ROUTES if route.cache_ttl > 0]


def paths() -> dict[str, list[str]]:
    """Every path of the route table with the verbs it serves, in table order (HEAD after GET)."""
    declared: dict[str, list[str]] = {}
    for route in ROUTES:
        declared.setdefault(route.path, []).extend([route.method, "HEAD"] if route.method == "GET" else [route.method])
    return declared


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        auth: Auth,
        device_auth: DeviceAuthorizer,
        functions: Functions,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage_config = stage
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=stage.log_retention, removal_policy=stage.removal_policy
        )
        skip_checkov(self.access_logs, "CKV_AWS_158", LOGS_WITHOUT_CMK)
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"device-registry-{stage.name}",
            description="Device Registry API (routes generated from registry/http/routes.py)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access and execution logs need the account-level CloudWatch role; this sets it
            # (it is one per account and region, and CDK retains it when the stack goes).
            cloud_watch_role=True,
            deploy_options=self._stage_options(),
        )
        self.validator = self.api.add_request_validator(
            "Parameters",
            # The gateway checks what it can check exactly (declared parameters). Bodies are
            # left to the handler's pydantic models: the contract answers schema violations
            # with 422 and a per-field `errors` list, which a gateway JSON-schema validator
            # (400, one message) cannot produce, and a copy of the schema here would drift.
            validate_request_parameters=True,
            validate_request_body=False,
        )
        # API Gateway invokes every function (or its published version) with this role: one resource for
        # all methods, where a Lambda permission per method and function would add one per route.
        targets = [functions.by_route[route].target for route in ROUTES]
        invoke = iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[t.function_arn for t in targets])
        self.invoke_role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway invokes the route functions (their published versions) with this role",
            inline_policies={"InvokeRoutes": iam.PolicyDocument(statements=[invoke])},
        )
        for route in ROUTES:
            self._add_route(route, route.method, auth, device_auth, functions)
            if route.method == "GET":
                # RFC 9110 §9.3.2: HEAD is GET without the body; the function answers both
                # (registry/http/edge.py). Uncached: its answer has no body to serve a GET from.
                self._add_route(route, "HEAD", auth, device_auth, functions)
        for path, declared in paths().items():
            self._add_other_verbs(path, declared, stage.cors_origins)
        add_gateway_responses(self.api, stage.cors_origins)
        if stage.domain_name and stage.certificate_arn:
            self._add_domain(stage.domain_name, stage.certificate_arn, stage.base_path)
        if stage.cache_cluster:
            self._require_authorization_for_invalidation()
        else:
            skip_checkov(
                self.api.deployment_stage,
                "CKV_AWS_120",
                f"The {stage.name} stage has no cache cluster unless deployed with -c cache=on: it is billed by the "
                "hour whether used or not (docs/cost.md), and a developer's stage does not need it.",
            )
        if not stage.throttle_sum.within(LOW_ACCOUNT_THROTTLE):
            # Known at deploy time only (the stack is environment-agnostic): refused before
            # anything is created, as infra/app.py refuses it at synth when the region is known.
            CfnRule(
                self,
                "AccountThrottle",
                assertions=[
                    CfnRuleAssertion(
                        assert_=Fn.condition_not(Fn.condition_contains(list(LOW_THROTTLE_REGIONS), Aws.REGION)),
                        assert_description=low_throttle_message(stage, "this region"),
                    )
                ],
            )
        acknowledge(
            self.api.deployment_stage,
            "AwsSolutions-APIG3",
            "No WAF web ACL yet: every method but the docs needs a Cognito token, the "
            "stage is throttled, and a web ACL (with its cost) can be attached to this stage later.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "Request validation is on for parameters (the validator above). Bodies are validated "
            "by the handlers, which the contract needs for 422 answers listing each bad field.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway uses to write logs; AWS maintains this "
            "managed policy for exactly that purpose.",
        )

    @property
    def url(self) -> str:
        return self.api.url

    def _stage_options(self) -> apigw.StageOptions:
        stage = self._stage_config
        logging: dict[str, Any] = {
            "logging_level": apigw.MethodLoggingLevel.ERROR,
            "metrics_enabled": True,
            "data_trace_enabled": False,  # full request/response bodies never reach logs
        }
        # A method override starts from nothing, so each carries the stage-wide settings too.
        # Every Lambda method has a limit of its own (StageConfig.method_limits, whose sum fits the
        # account's throttle); the stage default is the mocks'.
        method_options = {}
        for route in ROUTES:
            cached = route.cache_ttl if stage.cache_cluster else 0
            method_options[method_settings_path(route)] = apigw.MethodDeploymentOptions(
                **_caching(cached), **logging, **_limits(stage.method_throttle(route))
            )
            if route.method == "GET":  # its HEAD: a limit of its own, uncached
                method_options[f"{route.path}/HEAD"] = apigw.MethodDeploymentOptions(
                    **_caching(0), **logging, **_limits(stage.method_throttle(route, "HEAD"))
                )
        return apigw.StageOptions(
            stage_name=stage.name,
            cache_cluster_enabled=stage.cache_cluster,
            cache_cluster_size=CACHE_CLUSTER_SIZE if stage.cache_cluster else None,
            caching_enabled=False,  # on only for the routes with a cache_ttl (method_options)
            cache_data_encrypted=True,
            method_options=method_options,
            tracing_enabled=True,
            access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
            access_log_format=apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
            **logging,
            **_limits(stage.throttle),
        )

    def _add_route(
        self, route: Route, verb: str, auth: Auth, device_auth: DeviceAuthorizer, functions: Functions
    ) -> apigw.Method:
        resource = self.api.root.resource_for_path(route.path)
        cached = route.cache_ttl and verb == route.method
        target = functions.by_route[route].target
        integration = apigw.Integration(
            type=apigw.IntegrationType.AWS_PROXY,
            integration_http_method="POST",
            uri=f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}:lambda:path/2015-03-31/functions/"
            f"{target.function_arn}/invocations",
            options=apigw.IntegrationOptions(
                credentials_role=self.invoke_role,
                cache_key_parameters=cache_key_parameters(route, self._stage_config) if cached else None,
            ),
        )
        options: dict[str, Any] = {
            "operation_name": route.handler if verb == route.method else f"{route.handler}_{verb.lower()}",
            "request_parameters": request_parameters(route, self._stage_config) or None,
            "request_validator": self.validator,
        }
        if route.auth is None:
            method = resource.add_method(verb, integration, authorization_type=apigw.AuthorizationType.NONE, **options)
            self._acknowledge_public(method, "the API's own documentation (Swagger UI, OpenAPI) is public")
            return method
        if route.auth == DEVICE:
            method = resource.add_method(
                verb,
                integration,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                authorizer=device_auth.authorizer,
                **options,
            )
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "A device route: devices authenticate with their own credentials (the device authorizer, "
                "a Lambda REQUEST authorizer), never with a Cognito token that could reach other devices.",
            )
            return method
        assert route.scope is not None  # a Cognito route (Route checks that it names its scope)
        return resource.add_method(
            verb,
            integration,
            authorization_type=apigw.AuthorizationType.COGNITO,
            authorizer=auth.authorizer,
            authorization_scopes=[route.scope],
            **options,
        )

    def _add_other_verbs(self, path: str, declared: list[str], origins: tuple[str, ...]) -> apigw.Method:
        """One method API Gateway answers itself for every verb ``path`` does not declare (an
        explicit method takes precedence over ``ANY``): a 405 problem with ``Allow``; and, where the
        stage allows origins, the CORS preflight (OPTIONS, no function, no token: a browser's
        preflight carries none): 204, with the CORS headers only for an allowed origin
        (preflight_template). One method per path, whatever the verbs, where one mock per verb
        would add five to the stack for every path (docs/decisions.md, "Headroom")."""
        allow = ", ".join(declared)
        refusal: dict[str, str | None] = {
            "Allow": f"'{allow}'",
            "Content-Type": f"'{PROBLEM_JSON}'",
            "Cache-Control": "'no-store'",
        }
        # (status, headers, body template, the selection pattern choosing it: None for the default)
        answers: list[tuple[int, dict[str, str | None], str, str | None]] = [
            (405, refusal, method_not_allowed_body(VERB_OF_REQUEST, path, allow), None)
        ]
        status = "405"
        if origins:
            # The CORS headers are declared, and set by the template only for an allowed origin.
            preflight: dict[str, str | None] = {"Vary": "'Origin'", cors.ALLOW_ORIGIN: None}
            preflight.update(dict.fromkeys(PREFLIGHT_HEADERS))
            answers.append((204, preflight, preflight_template(origins, declared), "204"))
            status = '#if($context.httpMethod == "OPTIONS")204#{else}405#end'
        integration = apigw.MockIntegration(
            request_templates={media: f'{{"statusCode": {status}}}' for media in MOCK_MEDIA_TYPES},
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code=str(code),
                    # A mock's answer is chosen by the status its request template set.
                    selection_pattern=pattern,
                    response_parameters={
                        f"method.response.header.{name}": value for name, value in headers.items() if value is not None
                    },
                    response_templates={"application/json": template},
                )
                for code, headers, template, pattern in answers
            ],
        )
        method = self.api.root.resource_for_path(path).add_method(
            "ANY",
            integration,
            authorization_type=apigw.AuthorizationType.NONE,
            method_responses=[
                apigw.MethodResponse(
                    status_code=str(code),
                    response_parameters={f"method.response.header.{name}": True for name in headers},
                )
                for code, headers, _, _ in answers
            ],
        )
        self._acknowledge_public(
            method, "a mock answering 405 Method Not Allowed and CORS preflights: it reaches no backend"
        )
        return method

    def _add_domain(self, domain_name: str, certificate_arn: str, base_path: str | None) -> None:
        """The custom domain (regional, TLS 1.2) and the mapping of this stage under ``base_path``.
        The functions match on the API's resource, not the path, so the prefix changes nothing."""
        self.domain = apigw.DomainName(
            self,
            "Domain",
            domain_name=domain_name,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
        )
        self.domain.add_base_path_mapping(self.api, base_path=base_path, stage=self.api.deployment_stage)
        region = self._stage_config.certificate_region
        # API Gateway takes a regional domain's certificate from the stack's region only; checked
        # at synth when the region is known (infra/app.py), and always before a deploy creates anything.
        CfnRule(
            self,
            "CertificateRegion",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_equals(Aws.REGION, region),
                    assert_description=f"certificate_arn is in {region}: deploy this stack to {region}, or pass "
                    "-c certificate_arn= with a certificate of this region (a regional custom domain needs one).",
                )
            ],
        )

    @staticmethod
    def _acknowledge_public(method: apigw.Method, why: str) -> None:
        acknowledge(method, "AwsSolutions-APIG4", f"Deliberately public: {why}.")
        acknowledge(method, "AwsSolutions-COG4", f"No Cognito authorizer by design: {why}.")
        skip_checkov(method, "CKV_AWS_59", f"Deliberately public (no authorizer, no API key): {why}.")

    def _require_authorization_for_invalidation(self) -> None:
        """Clients can drop a cache entry with ``Cache-Control: max-age=0``; only callers with
        ``execute-api:InvalidateCache`` may, anyone else is answered as if they had not asked.
        CloudFormation's method settings cannot express this, so an UpdateStage call applies it
        after the stage.

        The call restates each cached method's cache settings (a method setting CloudFormation
        recreated gets the policy back), and it runs again after every change to the stage:
        the custom resource carries a fingerprint of the stage's whole configuration, its
        deployment included, and CloudFormation updates a custom resource whose properties
        change. An update of the stage that drops the policy is followed by one that restores it."""
        stage = self.api.deployment_stage
        operations = _invalidation_policy("/*/*")
        for route in cached_routes():
            target = patch_resource_path(route)
            operations += [
                _replace(f"{target}/caching/enabled", "true"),
                _replace(f"{target}/caching/ttlInSeconds", str(route.cache_ttl)),
                _replace(f"{target}/caching/dataEncrypted", "true"),
                *_invalidation_policy(target),
            ]
        call = cr.AwsSdkCall(
            service="APIGateway",
            action="updateStage",
            parameters={
                "restApiId": self.api.rest_api_id,
                "stageName": stage.stage_name,
                "patchOperations": operations,
            },
            physical_resource_id=cr.PhysicalResourceId.of("cache-invalidation-policy"),
            # CDK's handler returns the flattened API answer to CloudFormation, which refuses a
            # custom resource answer over 4,096 bytes; UpdateStage answers the whole stage (every
            # method setting, ~24 KB). Nothing reads the answer: keep only its stage name.
            output_paths=UPDATE_STAGE_OUTPUT_PATHS,
        )
        log_group = logs.LogGroup(
            self,
            "CacheInvalidationPolicyLogs",
            retention=self._stage_config.log_retention,
            removal_policy=self._stage_config.removal_policy,
        )
        skip_checkov(log_group, "CKV_AWS_158", LOGS_WITHOUT_CMK)
        self.invalidation_policy = cr.AwsCustomResource(
            self,
            "CacheInvalidationPolicy",
            on_create=call,
            on_update=call,
            install_latest_aws_sdk=False,
            log_group=log_group,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["apigateway:PATCH"], resources=[stage.stage_arn])]
            ),
        )
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        custom_resource = self.invalidation_policy.node.find_child("Resource").node.default_child
        assert isinstance(custom_resource, CfnResource)
        custom_resource.add_property_override(STAGE_FINGERPRINT, Lazy.string(_StageFingerprint(cfn_stage)))
        # The provider function CDK shares between all AwsCustomResources of the stack.
        provider_id = cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        provider = next(c for c in Stack.of(self).node.children if c.node.id.endswith(provider_id))
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's custom-resource provider (runs only during deployments) logs with the "
            "AWS-managed basic execution policy; its API permissions are the statement above.",
        )
        deploy_time_only = "CDK's custom-resource provider runs only while CloudFormation deploys this stack"
        skip_checkov(provider, "CKV_AWS_115", f"{deploy_time_only}: one invocation per deployment, nothing to cap.")
        skip_checkov(provider, "CKV_AWS_116", f"{deploy_time_only}, invoked synchronously: no event to dead-letter.")
        skip_checkov(provider, "CKV_AWS_117", f"{deploy_time_only} and calls only the API Gateway control plane.")


PREFLIGHT_HEADERS = ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age")


def preflight_template(origins: tuple[str, ...], methods: list[str]) -> str:
    """The preflight mock's response template: for a request Origin equal (not a pattern match)
    to one of ``origins``, that origin and what it may send, set as response headers."""
    allowed = cors.preflight_headers(origins[0], origins, sorted(methods))
    condition = " || ".join(f"$origin == {json.dumps(origin)}" for origin in origins)
    lines = [
        "#set($origin = $input.params().header.get('Origin'))",
        '#if("$!origin" == "")#set($origin = $input.params().header.get(\'origin\'))#end',
        f"#if({condition})",
        "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
        *(f"#set($context.responseOverride.header.{name} = {json.dumps(allowed[name])})" for name in PREFLIGHT_HEADERS),
        "#end",
    ]
    return "\n".join(lines)


def _caching(ttl: int) -> dict[str, Any]:
    if not ttl:
        return {"caching_enabled": False}
    return {"caching_enabled": True, "cache_ttl": Duration.seconds(ttl), "cache_data_encrypted": True}


def _limits(throttle: Throttle) -> dict[str, Any]:
    return {"throttling_rate_limit": throttle.rate, "throttling_burst_limit": throttle.burst}


# What the cache-invalidation custom resource keeps of UpdateStage's answer (see output_paths).
UPDATE_STAGE_OUTPUT_PATHS = ["stageName"]

# The custom resource property that changes with every change of the stage.
STAGE_FINGERPRINT = "StageFingerprint"


@jsii.implements(IStableStringProducer)
class _StageFingerprint:
    """A hash of the stage resource's properties as they appear in the template: method
    settings, throttling, cache cluster, access logs, and the deployment it serves (whose
    logical id CDK derives from the API's methods, so it changes with every new deployment)."""

    def __init__(self, stage: apigw.CfnStage) -> None:
        self._stage = stage

    def produce(self) -> str:
        stage = self._stage
        properties = Stack.of(stage).resolve(stage._render_properties(stage._cfn_properties))
        return hashlib.sha256(json.dumps(properties, sort_keys=True).encode()).hexdigest()


def _replace(path: str, value: str) -> dict[str, str]:
    return {"op": "replace", "path": path, "value": value}


def _invalidation_policy(target: str) -> list[dict[str, str]]:
    return [
        _replace(f"{target}/caching/requireAuthorizationForCacheControl", INVALIDATION_REQUIRES_AUTHORIZATION),
        _replace(f"{target}/caching/unauthorizedCacheControlHeaderStrategy", UNAUTHORIZED_INVALIDATION),
    ]


ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "protocol": "$context.protocol",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "errorResponseType": "$context.error.responseType",
        "errorMessage": "$context.error.message",
        "clientId": "$context.authorizer.claims.client_id",
        # A device route's caller: device:<credential id> (never its secret).
        "principalId": "$context.authorizer.principalId",
        "scope": "$context.authorizer.claims.scope",
        "xrayTraceId": "$context.xrayTraceId",
    }
)
