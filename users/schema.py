"""OpenAPI: the authentication class described as both of its security schemes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from users import roles


class JWTCookieAuthenticationScheme(OpenApiAuthenticationExtension):
    """`JWTCookieAuthentication` accepts the `rbas_access` cookie or an `Authorization: Bearer`."""

    target_class = "users.authentication.JWTCookieAuthentication"
    name = ["rbas_access", "bearer"]

    def get_security_requirement(self, auto_schema):
        """Either scheme will do (OR); a public view may also be called anonymously."""
        alternatives = [{"rbas_access": []}, {"bearer": []}]
        if getattr(auto_schema.view, "required_policy", None) == roles.PUBLIC:
            alternatives.append({})
        return alternatives

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "cookie",
                "name": "rbas_access",
                "description": (
                    "The HTTP-only cookie set by login (`__Host-rbas_access` with "
                    "COOKIE_SECURE=true, `__Secure-rbas_access` when COOKIE_DOMAIN is set too). "
                    "Unsafe methods also need the X-CSRFToken header."
                ),
            },
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "The access_token of the login response.",
            },
        ]


class PersonalTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """`PersonalTokenAuthentication` accepts `Authorization: Bearer rbas_pat_...`."""

    target_class = "users.personal_tokens.PersonalTokenAuthentication"
    name = "personal_token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "rbas_pat_...",
            "description": (
                "A personal API token from POST /api/tokens/ (for CI and scripts). It cannot "
                "create tokens, change the password or email, or end sessions."
            ),
        }
