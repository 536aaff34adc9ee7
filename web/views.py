"""Pages of the web app. Each is an HTML shell; its data comes from the JSON API, exactly as
for a separate front end (HTTP-only cookies, the X-CSRFToken header)."""

from urllib.parse import urlencode

from django.conf import settings
from django.views.generic import TemplateView

from users import oidc, roles, sso
from users.oidc_views import login_url, safe_next

# Only this site's own scripts, styles and API: no inline script, no CDN, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class PageView(TemplateView):
    """A page shell: public (the API decides what its data shows), served with a strict CSP."""

    required_policy = roles.PUBLIC
    page = ""

    def get_template_names(self) -> list[str]:
        return [f"web/{self.page}.html"]

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["page"] = self.page
        context["signup_open"] = settings.SIGNUP_MODE != "closed"
        return context

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


class LoginPageView(PageView):
    """The sign-in page: password form, "Sign in with <provider>" buttons, and the message of a
    single sign-on that failed (chosen by code, so no text from the URL reaches the page). The
    page goes to `next` as the server checked it (`safe_next`), never as the URL has it."""

    page = "login"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        next_path = safe_next(self.request.GET.get("next"))
        context["next_path"] = next_path  # where login.js goes after a password sign-in
        query = "" if next_path == "/" else "?" + urlencode({"next": next_path})
        context["sso_providers"] = [
            {"title": provider.title, "url": login_url(provider) + query}
            for provider in oidc.providers().values()
        ]
        context["sso_error"] = sso.MESSAGES.get(self.request.GET.get("sso_error", ""), "")
        return context
