"""Deny by default: every route declares the policy it needs, and only known policies."""

import ast
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

from users import roles


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def declared_policy(callback):
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    initkwargs = getattr(callback, "view_initkwargs", {})
    return initkwargs.get("required_policy", getattr(view_class, "required_policy", None))


def api_routes():
    """Every route but Django's admin, which guards itself (active owners with staff rights)."""
    return [(r, c) for r, c in walk(get_resolver().url_patterns) if not r.startswith("admin/")]


def test_the_only_routes_without_policies_are_the_django_admins():
    admin_routes = [c for r, c in walk(get_resolver().url_patterns) if r.startswith("admin/")]
    assert admin_routes
    assert all(declared_policy(c) is None for c in admin_routes)
    # Django's views, or the owners-only site's throttled sign-in (users.admin).
    assert all(c.__module__.startswith(("django.", "users.admin")) for c in admin_routes)


def test_every_route_declares_a_known_policy():
    routes = api_routes()
    assert len(routes) >= 20
    undeclared = [route for route, callback in routes if declared_policy(callback) is None]
    assert undeclared == []
    known = {*roles.POLICIES, roles.PUBLIC}
    unknown = [(r, declared_policy(c)) for r, c in routes if declared_policy(c) not in known]
    assert unknown == []


def test_public_routes_are_exactly_the_ones_meant_to_be():
    public = {r for r, c in api_routes() if declared_policy(c) == "public"}
    assert public == {
        "healthz",
        "readyz",
        "api/auth/signup/",
        "api/auth/login/",
        "api/auth/refresh/",
        "api/auth/csrf/",
        "api/auth/password-reset/",
        "api/auth/password-reset/confirm/",
        "api/auth/verify-email/",
        "api/invitations/preview/",
        "api/invitations/accept/",
        "api/auth/oidc/",
        "api/auth/oidc/<str:provider>/login/",
        "api/auth/oidc/<str:provider>/callback/",
        "user-auth/",
        "user-signup/",
        "all-user/",
        "api/schema/",
        # The OAuth2 / OpenID Connect provider: clients authenticate themselves (client
        # credentials, access tokens), or the document is public.
        "o/token/",
        "o/revoke_token/",
        "o/introspect/",
        "o/userinfo/",
        "o/.well-known/openid-configuration",
        "o/.well-known/jwks.json",
        "api/docs/",
        # The web app's page shells: their data comes from the API, which applies the policies.
        "",
        "login",
        "scripts/<slug:slug>",
        "runs/<uuid:pk>",
        "runs",
        "account",
        "account/tokens",
        "account/notifications",
        "users",
        "secrets",
        "schedules",
        "applications",
        "audit",
        # The pages emailed links open (their token, in the fragment, is the credential).
        "forgot-password",
        "reset-password",
        "verify-email",
        "invitation",
    }


def test_a_view_without_a_policy_is_refused(rf, db):
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class Forgotten(APIView):
        authentication_classes = []

        def get(self, request):
            return Response("secret")

    response = Forgotten.as_view()(rf.get("/forgotten/"))
    assert response.status_code == 403


def test_no_code_compares_levels_with_less_or_greater_than():
    """Levels are not a hierarchy: an ordering comparison involving a level is a bug."""
    root = Path(__file__).resolve().parent.parent
    ordering = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
    offenders = []
    for path in sorted({*root.glob("users/**/*.py"), *root.glob("simple_rbas/**/*.py")}):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Compare)
                and any(isinstance(op, ordering) for op in node.ops)
                and "level" in ast.unparse(node).lower()
            ):
                offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
