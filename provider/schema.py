"""OpenAPI: the provider's access tokens as a security scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OAuthTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """`OAuthTokenAuthentication` accepts `Authorization: Bearer rbas_oat_...` (scope `rbas`)."""

    target_class = "provider.authentication.OAuthTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": (
                "An access token of RBAS's own OAuth2 provider (`rbas_oat_...`) with the `rbas` "
                "scope; it acts as its user, or as the service account of a client-credentials "
                "application."
            ),
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/o/authorize/",
                    "tokenUrl": "/o/token/",
                    "refreshUrl": "/o/token/",
                    "scopes": {"rbas": "Act on the RBAS API as you"},
                },
                "clientCredentials": {
                    "tokenUrl": "/o/token/",
                    "scopes": {"rbas": "Act on the RBAS API as the service account"},
                },
            },
        }

    def get_security_requirement(self, auto_schema):
        return {"oauth2": ["rbas"]}
