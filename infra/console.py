"""The operator console in AWS (docs/decisions.md, "The operator console"): served by the API
itself at ``<API URL>console/`` (GET ``/console`` and ``/console/{proxy+}``, public, the bundle in a
layer of a small function of its own, handlers/console_site.py), so the console and the API share
one origin and no CORS setting is needed for it; operators sign in with the Cognito hosted UI
through an app client of their own (authorization code + PKCE, no secret). A pre-token-generation
trigger (V2_0, handlers/console_token.py) leaves ``devices/write`` in a signed-in operator's access
token only for members of the ``writers`` group: everyone else is read-only.

The bundle must exist at synth: ``make synth`` builds it (``make console``). Without it (a synth
that skipped the build, e.g. the infra tests on a fresh clone) the stack has no console and the
synth says so with a warning, rather than deploy a console that cannot load."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Aws, Duration, Fn
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from handlers.console_token import WRITERS_GROUP
from infra import REPO_ROOT
from infra.auth import Auth
from infra.functions import ARCHITECTURE, RUNTIME, handler_function, own_role_and_logs, pin
from infra.nag import acknowledge, skip_checkov
from infra.stage import StageConfig

CONSOLE_DIST = REPO_ROOT / "console" / "dist"
HANDLER = "console_site"
FUNCTION_ID = "ServeConsole"  # its logical id
TOKEN_HANDLER = "console_token"
TOKEN_FUNCTION_ID = "ConsoleSignInScopes"  # its logical id
PATH = "console"
WRITE_SCOPE = "devices/write"
# It reads a file of ~50 KB and answers it: the smallest memory, and a timeout far under API Gateway's.
MEMORY_MB = 128
TIMEOUT = Duration.seconds(5)
# Cognito waits 5 s for a trigger and retries it (docs/deployment.md): the trigger, which only reads
# its event, stops well before, so that a retry can still land within the sign-in.
TOKEN_TIMEOUT = Duration.seconds(2)
NOT_BUILT = "console/dist is not built (run `make console`; `make synth` does): the stack has no console"
# An operator signs in for a working session; the hosted UI signs in again after it (no refresh token kept).
SESSION_VALIDITY = Duration.hours(1)


def console_url(api: apigw.RestApi, stage: StageConfig) -> str:
    """``https://{api id}.execute-api.{region}.{suffix}/{stage}/console/``, built from the API's id
    and the stage's name rather than from the deployment stage (whose deployment depends on these
    methods, which depend on the function that names this URL: a cycle)."""
    host = Fn.join(".", [api.rest_api_id, "execute-api", Aws.REGION, Aws.URL_SUFFIX])
    return Fn.join("", ["https://", host, f"/{stage.name}/{PATH}/"])


def custom_domain_url(stage: StageConfig) -> str | None:
    if not stage.domain_name:
        return None
    base = f"/{stage.base_path}" if stage.base_path else ""
    return f"https://{stage.domain_name}{base}/{PATH}/"


class Console(Construct):
    """``url`` is the console's address, or None when the bundle was not built; ``sign_in_trigger``
    the function that sets a signed-in operator's scopes (None without the console)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        api: apigw.RestApi,
        auth: Auth,
        dist: Path = CONSOLE_DIST,
    ) -> None:
        super().__init__(scope, construct_id)
        self.url: str | None = None
        self.sign_in_trigger: lambda_.Function | None = None
        if not (dist / "index.html").is_file():
            Annotations.of(self).add_warning_v2("console:not-built", NOT_BUILT)
            return
        self.url = console_url(api, stage)
        urls = [self.url, *filter(None, [custom_domain_url(stage)])]
        self.client = auth.user_pool.add_client(
            "Client",
            generate_secret=False,  # a browser keeps no secret: PKCE proves the code is ours
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=auth.oauth_scopes,
                callback_urls=urls,
                logout_urls=urls,
            ),
            auth_flows=cognito.AuthFlow(),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            access_token_validity=SESSION_VALIDITY,
            id_token_validity=SESSION_VALIDITY,
            prevent_user_existence_errors=True,
        )
        self.function = self._site_function(stage, dist, auth)
        self._methods(stage, api)
        self.sign_in_trigger = self._sign_in_scopes(stage, auth)

    def _site_function(self, stage: StageConfig, dist: Path, auth: Auth) -> lambda_.Function:
        files = lambda_.LayerVersion(
            self,
            "Files",
            code=lambda_.Code.from_asset(str(dist)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Device Registry: the operator console's built files",
        )
        domain = auth.domain.base_url()
        function = _small_function(
            self,
            stage,
            handler=HANDLER,
            description="Device Registry: the operator console's files (GET /console/...)",
            role_description="Console: answers its files",
            timeout=TIMEOUT,
            layer=files,
            environment={
                "CONSOLE_AUTHORIZE_URL": domain + "/oauth2/authorize",
                "CONSOLE_TOKEN_URL": auth.token_url,
                "CONSOLE_LOGOUT_URL": domain + "/logout",
                "CONSOLE_CLIENT_ID": self.client.user_pool_client_id,
                "CONSOLE_SCOPES": " ".join(scope.scope_name for scope in auth.oauth_scopes),
                "CONSOLE_WRITE_SCOPE": WRITE_SCOPE,
            },
        )
        pin(function, FUNCTION_ID, "tests/infra/test_console.py")
        skip_checkov(
            function,
            "CKV_AWS_116",
            "Invoked synchronously by API Gateway, which answers its error itself: no asynchronous event to "
            "dead-letter.",
        )
        skip_checkov(function, "CKV_AWS_117", "It reaches nothing: it answers files from its own layer.")
        skip_checkov(function, "CKV_AWS_173", "The environment holds the sign-in URLs and client id, no secrets.")
        skip_checkov(
            function,
            "CKV_AWS_115",
            "Bounded by its methods' throttle (the docs' limit, infra/stage.py docs_throttle); a reservation "
            "would take from the route functions' budget (docs/deployment.md).",
        )
        return function

    def _sign_in_scopes(self, stage: StageConfig, auth: Auth) -> lambda_.Function:
        """The ``writers`` group, and the V2_0 pre-token-generation trigger that takes
        ``devices/write`` out of the access token of every other operator who signs in. V2_0
        needs the Essentials (or Plus) feature plan (docs/deployment.md); the machine client's
        client-credentials tokens never reach it (that is V3_0)."""
        auth.user_pool.add_group(
            "Writers",
            group_name=WRITERS_GROUP,
            description="Operators whose console sign-in may write (devices/write); everyone else reads only",
        )
        scope = Construct(self, "SignInScopes")
        function = _small_function(
            scope,
            stage,
            handler=TOKEN_HANDLER,
            description="Device Registry: a console sign-in's scopes (devices/write for the writers group only)",
            role_description="Console sign-in: sets the access token's scopes",
            timeout=TOKEN_TIMEOUT,
        )
        pin(function, TOKEN_FUNCTION_ID, "tests/infra/test_console.py")
        auth.user_pool.add_trigger(
            cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, function, cognito.LambdaVersion.V2_0
        )
        skip_checkov(
            function,
            "CKV_AWS_116",
            "Invoked synchronously by Cognito during a sign-in, which fails if it fails: no asynchronous "
            "event to dead-letter. Its errors are alarmed (infra/monitoring.py).",
        )
        skip_checkov(function, "CKV_AWS_117", "It reaches nothing: it answers from its event alone.")
        skip_checkov(function, "CKV_AWS_173", "Its environment holds Powertools' settings only, no secrets.")
        skip_checkov(
            function,
            "CKV_AWS_115",
            "Runs once per operator sign-in or token refresh (a handful a minute); a reservation would take "
            "from the route functions' budget (docs/deployment.md).",
        )
        return function

    def _methods(self, stage: StageConfig, api: apigw.RestApi) -> None:
        integration = apigw.LambdaIntegration(self.function, allow_test_invoke=False)
        page = api.root.add_resource(PATH)
        files = page.add_resource("{proxy+}")
        for resource in (page, files):
            method = resource.add_method("GET", integration, authorization_type=apigw.AuthorizationType.NONE)
            acknowledge(
                method,
                "AwsSolutions-APIG4",
                "Deliberately public: the console's page and files; its API calls carry the operator's token.",
            )
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "Deliberately public: the console's page and files; it signs in with the hosted UI.",
            )
            skip_checkov(
                method,
                "CKV_AWS_59",
                "The console's static files are public; every API call it makes needs a Cognito token.",
            )
        # The docs' low limit, uncached: the stage's method settings come from the route table
        # (infra/api.py), so these two are appended to them.
        cfn_stage = api.deployment_stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        existing = list(cfn_stage.method_settings or [])  # type: ignore[arg-type]
        cfn_stage.method_settings = [
            *existing,
            *(
                apigw.CfnStage.MethodSettingProperty(
                    resource_path=path,
                    http_method="GET",
                    throttling_rate_limit=stage.docs_throttle.rate,
                    throttling_burst_limit=stage.docs_throttle.burst,
                    caching_enabled=False,
                    metrics_enabled=True,
                    logging_level="ERROR",
                    data_trace_enabled=False,
                )
                for path in (f"/~1{PATH}", f"/~1{PATH}~1{{proxy+}}")
            ),
        ]


def _small_function(
    scope: Construct,
    stage: StageConfig,
    *,
    handler: str,
    description: str,
    role_description: str,
    timeout: Duration,
    layer: lambda_.ILayerVersion | None = None,
    environment: dict[str, str] | None = None,
) -> lambda_.Function:
    """A 128 MB function of the standard library only (no dependency layer; ``layer``: the
    console's files), with a role and log group of its own that reach nothing else."""
    role, log_group = own_role_and_logs(scope, stage, role_description)
    return handler_function(
        scope,
        handler=handler,
        description=description,
        stage=stage,
        layer=layer,
        role=role,
        log_group=log_group,
        memory_mb=MEMORY_MB,
        timeout=timeout,
        environment=environment or {},
    )
