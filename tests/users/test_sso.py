"""Single sign-on against a real OpenID Connect provider (`oidc-provider` from npm) on loopback:
accounts, refusals from the attacker's side, role mapping, redirects and the resulting cookies."""

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD
from tests.oidc_provider import OidcProvider, ProviderAgent, free_port
from users.models import LoginSession, SsoIdentity, User
from users.roles import Level

CALLBACK = "http://testserver/api/auth/oidc/test/callback/"
# The same provider also plays Google, whose `hd` claim is trusted (and only Google's).
GOOGLE_CALLBACK = "http://testserver/api/auth/oidc/google/callback/"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    callbacks = [CALLBACK, GOOGLE_CALLBACK]
    provider = OidcProvider(tmp_path_factory.mktemp("oidc"), redirect_uris=callbacks).start()
    yield provider
    provider.stop()


@pytest.fixture
def idp(provider, settings, db):
    """The module's provider, configured as `test`, with no accounts yet."""
    provider.accounts.clear()
    provider.save_accounts()
    settings.OIDC_PROVIDERS = provider.settings()
    settings.SIGNUP_MODE = "open"
    return provider


def start(client: Client, next_path: str = "/runs", name: str = "test") -> str:
    """Ask the application to start a sign-in; return the provider's authorization URL."""
    response = client.get(f"/api/auth/oidc/{name}/login/", {"next": next_path})
    assert response.status_code == 302
    return response["Location"]


def finish(client: Client, callback_url: str):
    """Deliver the provider's answer to the application, as the browser would."""
    parts = urlsplit(callback_url)
    assert callback_url.startswith((CALLBACK, GOOGLE_CALLBACK))
    return client.get(parts.path, parse_qs(parts.query))


def sign_in(idp: OidcProvider, login: str, next_path: str = "/runs", client=None, name="test"):
    client = client or Client()
    callback = ProviderAgent(idp).sign_in(start(client, next_path, name), login)
    return client, finish(client, callback)


def refused_with(response, code: str) -> None:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["sso_error"] == [code]
    assert "rbas_access" not in response.cookies
    assert "rbas_refresh" not in response.cookies


def test_enabled_providers_are_listed_for_the_sign_in_page(idp, api_client):
    body = api_client.get("/api/auth/oidc/").json()
    assert body["results"] == [
        {"name": "test", "title": "Test IdP", "login_url": "/api/auth/oidc/test/login/"}
    ]


def test_no_provider_is_listed_when_none_is_configured(settings, api_client, db):
    settings.OIDC_PROVIDERS = {}
    assert api_client.get("/api/auth/oidc/").json()["count"] == 0
    assert api_client.get("/api/auth/oidc/google/login/").status_code == 404


def test_the_redirect_to_the_provider_uses_pkce_state_and_nonce(idp):
    query = parse_qs(urlsplit(start(Client())).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [CALLBACK]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile", "groups"}
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]


def test_google_is_asked_to_offer_only_the_allowed_domains_accounts(idp, settings):
    settings.OIDC_PROVIDERS = {"google": idp.settings()["test"]}
    settings.SIGNUP_MODE = "domain"
    settings.SIGNUP_ALLOWED_DOMAINS = ["example.com"]
    location = Client().get("/api/auth/oidc/google/login/")["Location"]
    assert parse_qs(urlsplit(location).query)["hd"] == ["example.com"]
    # Other providers get no such hint.
    settings.OIDC_PROVIDERS = idp.settings()
    assert "hd" not in parse_qs(urlsplit(start(Client())).query)


def test_first_sign_in_creates_the_user_at_the_default_level(idp, settings):
    settings.DEFAULT_LEVEL = "write"
    idp.add("alice-sub", "alice@example.com", given_name="Alice", family_name="Ng")
    client, response = sign_in(idp, "alice-sub")
    assert response.status_code == 302
    assert response["Location"] == "/runs"
    user = User.objects.get(email="alice@example.com")
    assert (user.username, user.first_name, user.last_name) == ("alice", "Alice", "Ng")
    assert user.level == Level.WRITE
    assert not user.has_usable_password()
    assert SsoIdentity.objects.get(user=user).subject == "alice-sub"
    assert (response["Cache-Control"], response["Pragma"]) == ("no-store", "no-cache")
    access = response.cookies["rbas_access"]
    assert access["httponly"] and response.cookies["rbas_refresh"]["httponly"]
    assert response.cookies["rbas_refresh"]["path"] == "/api/auth/"
    # The cookies work on the API exactly as a password login's do.
    me = client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    refreshed = client.post(
        "/api/auth/refresh/",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert refreshed.status_code == 200


def test_a_second_sign_in_reuses_the_account(idp):
    idp.add("alice-sub", "alice@example.com")
    sign_in(idp, "alice-sub")
    _, response = sign_in(idp, "alice-sub")
    assert response.status_code == 302 and "rbas_access" in response.cookies
    assert User.objects.count() == 1
    assert SsoIdentity.objects.count() == 1
    assert LoginSession.objects.count() == 2


def test_an_existing_password_account_is_linked_by_its_verified_email(idp, make_user):
    existing = make_user(
        Level.ADMIN, username="alice", email="Alice@Example.com", email_verified=True
    )
    idp.add("alice-sub", "alice@example.com")
    client, _ = sign_in(idp, "alice-sub")
    assert client.get("/api/auth/me/").json()["id"] == existing.pk
    existing.refresh_from_db()
    assert existing.level == Level.ADMIN
    assert existing.check_password(PASSWORD)  # the password still works too


def test_an_account_signed_up_with_someone_elses_email_is_never_linked(idp, api_client):
    # The attacker signs up first with the victim's address (signup verifies no email).
    signup = api_client.post(
        "/api/auth/signup/",
        {"username": "mallory", "email": "victim@example.com", "password": PASSWORD},
        format="json",
    )
    assert signup.status_code == 201
    # The victim's first single sign-on must not open (and so share) the attacker's account.
    idp.add("victim-sub", "victim@example.com")
    client, response = sign_in(idp, "victim-sub")
    refused_with(response, "unverified_account")
    assert not SsoIdentity.objects.exists()
    assert client.get("/api/auth/me/").status_code == 401
    page = Client().get("/login", {"sso_error": "unverified_account"}).content.decode()
    assert "Ask an administrator" in page


def test_an_email_changed_by_its_user_is_not_linked(idp, make_user, bearer_client):
    mallory = make_user(username="mallory", email="mallory@example.com", email_verified=True)
    changed = bearer_client(mallory).patch(
        "/api/auth/me/", {"email": "victim@example.com"}, format="json"
    )
    assert changed.status_code == 200
    idp.add("victim-sub", "victim@example.com")
    refused_with(sign_in(idp, "victim-sub")[1], "unverified_account")
    assert not SsoIdentity.objects.exists()


def test_accounts_made_by_an_admin_or_the_owner_bootstrap_are_linked(
    idp, users, bearer_client, monkeypatch
):
    created = bearer_client(users[Level.OWNER]).post(
        "/api/users/",
        {"username": "carol", "email": "carol@example.com", "password": PASSWORD, "level": 3},
        format="json",
    )
    assert created.status_code == 201
    idp.add("carol-sub", "carol@example.com")
    client, _ = sign_in(idp, "carol-sub")
    assert client.get("/api/auth/me/").json()["id"] == created.json()["id"]
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("ensure_owner")
    idp.add("root-sub", "root@example.com")
    client, _ = sign_in(idp, "root-sub")
    assert client.get("/api/auth/me/").json()["username"] == "root"


def test_domain_mode_refuses_a_foreign_domain(idp, settings):
    settings.SIGNUP_MODE = "domain"
    settings.SIGNUP_ALLOWED_DOMAINS = ["example.com"]
    idp.add("mallory", "mallory@elsewhere.test")
    _, response = sign_in(idp, "mallory")
    refused_with(response, "domain")
    assert not User.objects.exists() and not SsoIdentity.objects.exists()


def test_domain_mode_accepts_the_email_domain_or_googles_hd_claim(idp, settings):
    settings.OIDC_PROVIDERS = {**idp.settings(), "google": idp.settings()["test"]}
    settings.SIGNUP_MODE = "domain"
    settings.SIGNUP_ALLOWED_DOMAINS = ["example.com"]
    idp.add("ann", "ann@example.com")
    idp.add("ben", "ben@example-alias.test", hd="example.com")
    assert "rbas_access" in sign_in(idp, "ann")[1].cookies
    # `hd` is Google's Workspace domain: another provider's `hd` proves nothing.
    refused_with(sign_in(idp, "ben")[1], "domain")
    assert "rbas_access" in sign_in(idp, "ben", name="google")[1].cookies
    assert User.objects.count() == 2


def test_closed_signup_refuses_new_people_but_signs_in_existing_accounts(idp, settings, make_user):
    settings.SIGNUP_MODE = "closed"
    make_user(username="known", email="known@example.com", email_verified=True)
    idp.add("known", "known@example.com")
    idp.add("stranger", "stranger@example.com")
    _, response = sign_in(idp, "stranger")
    refused_with(response, "signup_closed")
    _, response = sign_in(idp, "known")
    assert "rbas_access" in response.cookies
    assert User.objects.count() == 1


def test_an_unverified_email_is_refused(idp, make_user):
    make_user(username="victim", email="victim@example.com")
    idp.add("attacker", "victim@example.com", verified=False)
    _, response = sign_in(idp, "attacker")
    refused_with(response, "email_unverified")
    assert not SsoIdentity.objects.exists()


def test_an_email_change_at_the_provider_cannot_take_over_another_account(idp, make_user):
    bob = make_user(username="bob", email="bob@example.com")
    idp.add("alice-sub", "alice@example.com")
    client, _ = sign_in(idp, "alice-sub")
    alice_id = client.get("/api/auth/me/").json()["id"]
    # Alice's provider account now claims Bob's (verified) address: the link follows `sub`.
    idp.add("alice-sub", "bob@example.com")
    client, _ = sign_in(idp, "alice-sub")
    assert client.get("/api/auth/me/").json()["id"] == alice_id != bob.pk
    # A second provider account with Alice's address cannot take the linked account either.
    idp.add("mallory-sub", "alice@example.com")
    _, response = sign_in(idp, "mallory-sub")
    refused_with(response, "linked_elsewhere")
    assert SsoIdentity.objects.count() == 1


def test_a_deactivated_user_is_refused(idp, make_user):
    make_user(username="gone", email="gone@example.com", is_active=False, email_verified=True)
    idp.add("gone", "gone@example.com")
    _, response = sign_in(idp, "gone")
    refused_with(response, "inactive")
    assert not SsoIdentity.objects.exists()
    assert not LoginSession.objects.exists()


def test_a_tampered_state_is_refused(idp):
    idp.add("alice-sub", "alice@example.com")
    client = Client()
    callback = ProviderAgent(idp).sign_in(start(client), "alice-sub")
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    query["state"] = [query["state"][0][:-1] + ("A" if query["state"][0][-1] != "A" else "B")]
    response = client.get(parts.path, query)
    refused_with(response, "state")
    assert not User.objects.exists()


def test_a_callback_from_another_browser_is_refused(idp):
    """The victim's code and state, replayed by an attacker whose session never started it."""
    idp.add("alice-sub", "alice@example.com")
    callback = ProviderAgent(idp).sign_in(start(Client()), "alice-sub")
    refused_with(finish(Client(), callback), "state")
    assert not User.objects.exists()


def test_a_reused_code_is_refused(idp):
    idp.add("alice-sub", "alice@example.com")
    client = Client()
    callback = ProviderAgent(idp).sign_in(start(client), "alice-sub")
    pending = dict(client.session.items())
    assert "rbas_access" in finish(client, callback).cookies
    # The state is single use...
    refused_with(finish(client, callback), "state")
    # ...and were it not, the provider refuses a code it has already exchanged.
    session = client.session
    session.update(pending)
    session.save()
    refused_with(finish(client, callback), "token")
    assert LoginSession.objects.count() == 1


def test_an_id_token_with_a_wrong_nonce_is_refused(idp):
    idp.add("alice-sub", "alice@example.com")
    client = Client()
    parts = urlsplit(start(client))
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["nonce"] = "a-nonce-this-application-never-issued"
    tampered = urlunsplit(parts._replace(query=urlencode(query)))
    refused_with(finish(client, ProviderAgent(idp).sign_in(tampered, "alice-sub")), "token")
    assert not User.objects.exists()


def test_an_id_token_signed_by_another_key_is_refused(tmp_path, settings, db):
    rogue = OidcProvider(tmp_path, redirect_uris=[CALLBACK]).start(rogue_jwks=True)
    try:
        settings.OIDC_PROVIDERS = rogue.settings()
        rogue.add("alice-sub", "alice@example.com")
        _, response = sign_in(rogue, "alice-sub")
        refused_with(response, "token")
        assert not User.objects.exists()
    finally:
        rogue.stop()


def test_the_providers_rotated_keys_are_fetched_again(tmp_path, settings, db):
    provider = OidcProvider(tmp_path, redirect_uris=[CALLBACK]).start(key_id="2026-a")
    try:
        settings.OIDC_PROVIDERS = provider.settings()
        provider.add("alice-sub", "alice@example.com")
        assert "rbas_access" in sign_in(provider, "alice-sub")[1].cookies
        provider.stop()
        provider.start(key_id="2026-b")  # same issuer, new signing key
        assert "rbas_access" in sign_in(provider, "alice-sub")[1].cookies
    finally:
        provider.stop()


def test_denied_consent_ends_on_the_sign_in_page(idp):
    idp.add("alice-sub", "alice@example.com")
    client = Client()
    callback = ProviderAgent(idp).sign_in(start(client), "alice-sub", consent=False)
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    refused_with(finish(client, callback), "cancelled")
    assert not User.objects.exists()


def test_a_provider_that_is_down_ends_on_the_sign_in_page(idp, settings):
    settings.OIDC_PROVIDERS = idp.settings(issuer=f"http://127.0.0.1:{free_port()}")
    response = Client().get("/api/auth/oidc/test/login/", {"next": "/runs"})
    refused_with(response, "unavailable")
    assert parse_qs(urlsplit(response["Location"]).query)["next"] == ["/runs"]


def test_starting_sign_ins_counts_against_the_login_limit_per_address(idp):
    client = Client()
    codes = [client.get("/api/auth/oidc/test/login/").status_code for _ in range(21)]
    assert codes == [302] * 20 + [429]


def test_a_provider_that_goes_down_before_the_code_exchange_ends_on_the_sign_in_page(
    tmp_path, settings, db
):
    provider = OidcProvider(tmp_path, redirect_uris=[CALLBACK]).start()
    try:
        settings.OIDC_PROVIDERS = provider.settings()
        provider.add("alice-sub", "alice@example.com")
        client = Client()
        callback = ProviderAgent(provider).sign_in(start(client), "alice-sub")
    finally:
        provider.stop()
    refused_with(finish(client, callback), "unavailable")
    assert not User.objects.exists()


def test_discovery_must_name_the_configured_issuer(idp, settings):
    settings.OIDC_PROVIDERS = idp.settings(issuer=idp.url.replace("127.0.0.1", "localhost"))
    refused_with(Client().get("/api/auth/oidc/test/login/"), "unavailable")


@pytest.mark.parametrize(
    ("asked", "landed"),
    [
        ("/runs?status=failed", "/runs?status=failed"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/\\evil.example/phish", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_stays_on_this_site(idp, asked, landed):
    idp.add("alice-sub", "alice@example.com")
    _, response = sign_in(idp, "alice-sub", next_path=asked)
    assert response.status_code == 302
    assert response["Location"] == landed


@pytest.fixture
def level_mapping(settings):
    settings.OIDC_LEVEL_CLAIM = "groups"
    settings.OIDC_LEVEL_MAP = {"rbas-admins": "admin", "sales": "write"}


def test_the_role_mapping_sets_levels_at_each_sign_in(idp, level_mapping):
    idp.add("ann", "ann@example.com", groups=["staff", "sales"])
    sign_in(idp, "ann")
    ann = User.objects.get(email="ann@example.com")
    assert ann.level == Level.WRITE
    idp.add("ann", "ann@example.com", groups=["rbas-admins", "sales"])
    sign_in(idp, "ann")
    ann.refresh_from_db()
    assert ann.level == Level.ADMIN  # the first mapped value wins
    idp.add("ann", "ann@example.com", groups=["staff"])
    sign_in(idp, "ann")
    ann.refresh_from_db()
    assert ann.level == Level.READ_ONLY  # no mapped group: the default level


def test_the_role_mapping_never_grants_owner_unless_mapped(idp, level_mapping, settings):
    idp.add("eve", "eve@example.com", groups=["owner", "0", "rbas-owners"])
    sign_in(idp, "eve")
    assert User.objects.get(email="eve@example.com").level == Level.READ_ONLY
    settings.OIDC_LEVEL_MAP = {"rbas-owners": "owner"}
    sign_in(idp, "eve")
    assert User.objects.get(email="eve@example.com").level == Level.OWNER


def test_without_the_claim_levels_are_left_alone(idp, level_mapping, make_user):
    make_user(Level.INVESTOR, username="ivy", email="ivy@example.com", email_verified=True)
    idp.add("ivy", "ivy@example.com")  # this provider sends no groups
    sign_in(idp, "ivy")
    assert User.objects.get(email="ivy@example.com").level == Level.INVESTOR


def test_the_role_mapping_never_demotes_the_last_active_owner(idp, level_mapping, make_user):
    make_user(Level.OWNER, username="boss", email="boss@example.com", email_verified=True)
    idp.add("boss", "boss@example.com", groups=["sales"])
    _, response = sign_in(idp, "boss")
    assert "rbas_access" in response.cookies
    assert User.objects.get(email="boss@example.com").level == Level.OWNER


def test_users_created_by_sso_are_managed_by_admins(idp, users, bearer_client):
    idp.add("newcomer", "newcomer@example.com")
    client, _ = sign_in(idp, "newcomer")
    created = User.objects.get(email="newcomer@example.com")
    admin = bearer_client(users[Level.ADMIN])
    assert (
        admin.patch(f"/api/users/{created.pk}/", {"level": 3}, format="json").json()["level"] == 3
    )
    assert (
        admin.patch(f"/api/users/{created.pk}/", {"is_active": False}, format="json").status_code
        == 200
    )
    assert client.get("/api/auth/me/").status_code == 401  # deactivation ends the session
    refused_with(sign_in(idp, "newcomer")[1], "inactive")


def test_the_sign_in_page_offers_the_providers_and_explains_a_failure(idp):
    page = Client().get("/login", {"next": "/runs", "sso_error": "domain"}).content.decode()
    assert 'href="/api/auth/oidc/test/login/?next=%2Fruns"' in page
    assert "Sign in with Test IdP" in page
    assert "Accounts from your email domain cannot sign in here." in page


def test_the_sign_in_page_shows_no_text_from_the_url(idp):
    page = Client().get("/login", {"sso_error": "<script>alert(1)</script>"}).content.decode()
    assert "alert(1)" not in page
    assert 'id="sso-error"' not in page
