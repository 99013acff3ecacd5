"""Cognito: who may call the API. A user pool whose resource server defines the scopes the
route table asks for, an app client for machine-to-machine callers (client credentials),
and the authorizer every non-public method uses."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, Fn
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.data import Data
from infra.functions import handler_function, own_role_and_logs, pin
from infra.nag import acknowledge, skip_checkov
from infra.stage import StageConfig
from registry.http.routes import ROUTES
from registry.storage import keys as schema

# How long a stolen or withdrawn access token keeps working: Cognito cannot revoke an access
# token. RevokeToken takes a refresh token (the client-credentials grant issues none), and even
# tokens it revokes stay valid for whoever checks them as JWTs, signature and expiry, as the
# API Gateway authorizer does; its cache (AUTHORIZER_CACHE_TTL) can add up to its TTL on top.
# Removing a client's access therefore takes up to ACCESS_TOKEN_VALIDITY + AUTHORIZER_CACHE_TTL
# after deleting the app client or its scopes. Shorter means more token requests.
ACCESS_TOKEN_VALIDITY = Duration.hours(1)
AUTHORIZER_CACHE_TTL = Duration.minutes(5)
# The client-credentials client signs in no users: only refresh (which needs a refresh token no
# grant of this client returns). Stated, because an absent ExplicitAuthFlows means Cognito's
# default: user SRP, custom auth and refresh.
EXPLICIT_AUTH_FLOWS = ["ALLOW_REFRESH_TOKEN_AUTH"]

# The device authorizer. A verdict is cached per Authorization header this long: a revoked
# credential keeps working at most this long (docs/security.md); 60 s is the contract's bound.
DEVICE_AUTHORIZER_CACHE_TTL = Duration.seconds(60)
DEVICE_AUTHORIZER_HANDLER = "authorize_device"
DEVICE_AUTHORIZER_ID = "AuthorizeDevice"  # its logical id
# scrypt is CPU-bound: at 1,024 MB (0.58 vCPU) a verification takes ~15 ms, half what it takes at
# 512 MB, for the same GB-seconds; API Gateway waits for it on every cache miss.
DEVICE_AUTHORIZER_MEMORY_MB = 1024
# API Gateway gives an authorizer 10 s at most; the DynamoDB client gives up after ~6 s.
DEVICE_AUTHORIZER_TIMEOUT = Duration.seconds(8)
LAST_USED_AT = "last_used_at"  # the one attribute the authorizer writes (registry/storage/credentials.py)


def route_scopes() -> dict[str, list[str]]:
    """``{"devices": ["read", "write"]}`` from the scopes (``server/scope``) of the route table."""
    servers: dict[str, list[str]] = {}
    for scope in sorted({route.scope for route in ROUTES if route.scope}):
        server, name = scope.split("/", 1)
        servers.setdefault(server, []).append(name)
    return servers


class Auth(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            # Callers are machines with client credentials: nobody signs up or signs in.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            account_recovery=cognito.AccountRecovery.NONE,
            # Should an operator ever add a human user, the pool is strict by default.
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(1),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=stage.deletion_protection,
            removal_policy=stage.removal_policy,
        )
        plus_plan_reason = (
            "The Plus feature plan (threat protection) scores interactive user sign-ins; this "
            "pool has no users, only an app client using the client-credentials grant."
        )
        acknowledge(self.user_pool, "AwsSolutions-COG3", plus_plan_reason)
        acknowledge(self.user_pool, "AwsSolutions-COG8", plus_plan_reason)

        oauth_scopes = []
        for identifier, names in route_scopes().items():
            scopes = [
                cognito.ResourceServerScope(scope_name=name, scope_description=f"{name} {identifier}") for name in names
            ]
            server = self.user_pool.add_resource_server(
                f"{identifier.capitalize()}Scopes", identifier=identifier, scopes=scopes
            )
            oauth_scopes += [cognito.OAuthScope.resource_server(server, scope) for scope in scopes]
        self.oauth_scopes = oauth_scopes  # the operator console's app client asks for them too
        self.client = self.user_pool.add_client(
            "MachineClient",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(flows=cognito.OAuthFlows(client_credentials=True), scopes=oauth_scopes),
            auth_flows=cognito.AuthFlow(),  # no user sign-in flows at all
            access_token_validity=ACCESS_TOKEN_VALIDITY,
            enable_token_revocation=True,
            prevent_user_existence_errors=True,
        )
        cfn_client = self.client.node.default_child
        assert isinstance(cfn_client, cognito.CfnUserPoolClient)
        cfn_client.explicit_auth_flows = EXPLICIT_AUTH_FLOWS
        # The hosted domain serves /oauth2/token; prefixes are global per region, so the
        # account id keeps two accounts deploying the same stage from colliding.
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=Fn.join("-", ["device-registry", stage.name, Aws.ACCOUNT_ID])
            ),
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[self.user_pool],
            # Verdicts are cached per token for this long (see ACCESS_TOKEN_VALIDITY).
            results_cache_ttl=AUTHORIZER_CACHE_TTL,
        )
        self._outputs()

    def _outputs(self) -> None:
        """What a caller needs besides TokenUrl and ClientId (infra/stack.py): the scopes to ask
        for, and the command that reads the client's secret, which stays in Cognito (`make smoke`,
        docs/deployment.md "First deploy"). Named as stack outputs, not by construct path."""
        outputs = {
            "TokenScopes": (
                " ".join(f"{server}/{name}" for server, names in route_scopes().items() for name in names),
                "Scopes a token may carry (client credentials grant); devices/read alone: a read-only token",
            ),
            "ClientSecretCommand": (
                Fn.join(
                    " ",
                    [
                        "aws cognito-idp describe-user-pool-client --user-pool-id",
                        self.user_pool.user_pool_id,
                        "--client-id",
                        self.client.user_pool_client_id,
                        "--query UserPoolClient.ClientSecret --output text",
                    ],
                ),
                "Prints ClientId's secret (REGISTRY_CLIENT_SECRET)",
            ),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description).override_logical_id(name)

    @property
    def token_url(self) -> str:
        return self.domain.base_url() + "/oauth2/token"


class DeviceAuthorizer(Construct):
    """The device routes' Lambda REQUEST authorizer (handlers/authorize_device.py): identity source
    the Authorization header, verdicts cached per header for DEVICE_AUTHORIZER_CACHE_TTL, and a role
    that may read credential items and stamp their ``last_used_at``, nothing else."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, data: Data, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        self.role, self.log_group = own_role_and_logs(
            self,
            stage,
            "Device authorizer: reads device credentials",
            device_authorizer_statements(data.table.table_arn),
        )
        self.function = handler_function(
            self,
            handler=DEVICE_AUTHORIZER_HANDLER,
            description="Device Registry: the device routes' authorizer (Authorization: Device)",
            stage=stage,
            layer=layer,
            role=self.role,
            log_group=self.log_group,
            memory_mb=DEVICE_AUTHORIZER_MEMORY_MB,
            timeout=DEVICE_AUTHORIZER_TIMEOUT,
            environment={"TABLE_NAME": data.table.table_name},
        )
        pin(self.function, DEVICE_AUTHORIZER_ID, "tests/infra/test_device_authorizer.py")
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            handler=self.function,
            identity_sources=[apigw.IdentitySource.header("Authorization")],
            results_cache_ttl=DEVICE_AUTHORIZER_CACHE_TTL,
        )
        why = "Invoked synchronously by API Gateway, which answers 401 or 500 itself"
        skip_checkov(self.function, "CKV_AWS_116", f"{why}: no asynchronous event to dead-letter.")
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "It reaches only DynamoDB and CloudWatch Logs, AWS endpoints, with IAM and TLS: a VPC would add "
            "NAT or endpoint costs and cold-start time, no isolation.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds the table's name and log settings, no secrets; Lambda encrypts it at rest.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_115",
            "Bounded by the device routes' method throttles (infra/stage.py device_throttle): it runs at most "
            "once per device request that misses the cache. A reservation would take from the routes' budget.",
        )


def device_authorizer_statements(table_arn: str) -> list[iam.PolicyStatement]:
    """GetItem of credential items only (partition keys ``CREDENTIAL#…``), and UpdateItem of their
    ``last_used_at`` only, answering nothing back."""
    credential_items = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{schema.CREDENTIAL_PREFIX}*"]}}
    return [
        iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table_arn], conditions=credential_items),
        iam.PolicyStatement(
            actions=["dynamodb:UpdateItem"],
            resources=[table_arn],
            conditions={
                **credential_items,
                "ForAllValues:StringEquals": {"dynamodb:Attributes": [schema.PK, schema.SK, LAST_USED_AT]},
                "StringEqualsIfExists": {"dynamodb:ReturnValues": "NONE"},
            },
        ),
    ]
