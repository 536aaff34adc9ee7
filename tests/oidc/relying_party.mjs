// A real relying party of RBAS's OpenID Connect provider: the certified `openid-client`.
// tests/provider/test_openid_client.py runs it in two steps, doing the browser's part between
// them with the user's RBAS cookie:
//
//   node relying_party.mjs start   -> {url, verifier, state, nonce}   (discovery, PKCE)
//   node relying_party.mjs finish  -> what every later step returned  (code exchange, ID token
//        checked against the JWKS, userinfo, refresh and its reuse, introspection, revocation,
//        client credentials)
//
// Configured by the environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, and for
// `finish` API_URL (called with the tokens), CALLBACK_URL, VERIFIER, STATE, NONCE (and SECOND_...
// of a second sign-in, whose token is introspected and revoked), SERVICE_CLIENT_ID and
// SERVICE_CLIENT_SECRET (a client-credentials application).
import * as client from 'openid-client';

const env = process.env;
const insecure = { execute: [client.allowInsecureRequests] }; // the test server is plain http

async function configuration(clientId, clientSecret) {
  const config = await client.discovery(new URL(env.ISSUER), clientId, clientSecret, undefined, insecure);
  // Check every ID token's signature against the provider's JWKS, not only its claims.
  client.enableNonRepudiationChecks(config);
  return config;
}

async function outcome(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    // A 401's error comes in its WWW-Authenticate challenge.
    const challenged = Array.isArray(error.cause) ? error.cause[0]?.parameters?.error : undefined;
    const code = error.error || challenged || error.code || error.name;
    return { ok: false, error: code, message: error.message };
  }
}

async function callApi(accessToken) {
  const response = await fetch(env.API_URL, { headers: { Authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: await response.json() };
}

async function start() {
  const config = await configuration(env.CLIENT_ID, env.CLIENT_SECRET);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env.REDIRECT_URI,
    scope: 'openid profile email rbas',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url: url.href, verifier, state, nonce, metadata: config.serverMetadata() };
}

async function finish() {
  const config = await configuration(env.CLIENT_ID, env.CLIENT_SECRET);
  const tokens = await client.authorizationCodeGrant(config, new URL(env.CALLBACK_URL), {
    pkceCodeVerifier: env.VERIFIER,
    expectedState: env.STATE,
    expectedNonce: env.NONCE,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const me = await callApi(tokens.access_token);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const reuse = await outcome(client.refreshTokenGrant(config, tokens.refresh_token));
  // Reuse ended the whole chain: the refresh token just issued is refused too.
  const afterReuse = await outcome(client.refreshTokenGrant(config, refreshed.refresh_token));

  const second = await client.authorizationCodeGrant(config, new URL(env.SECOND_CALLBACK_URL), {
    pkceCodeVerifier: env.SECOND_VERIFIER,
    expectedState: env.SECOND_STATE,
    expectedNonce: env.SECOND_NONCE,
    idTokenExpected: true,
  });
  const introspected = await client.tokenIntrospection(config, second.access_token);
  await client.tokenRevocation(config, second.access_token);
  const introspectedAfterRevocation = await client.tokenIntrospection(config, second.access_token);

  const service = await configuration(env.SERVICE_CLIENT_ID, env.SERVICE_CLIENT_SECRET);
  const serviceTokens = await client.clientCredentialsGrant(service, { scope: 'rbas' });
  const serviceMe = await callApi(serviceTokens.access_token);
  const wrongSecret = await configuration(env.SERVICE_CLIENT_ID, 'not-the-secret');
  const refused = await outcome(client.clientCredentialsGrant(wrongSecret, { scope: 'rbas' }));

  return {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    claims,
    userinfo,
    me,
    refreshed: { access_token: refreshed.access_token, refresh_token: refreshed.refresh_token },
    reuse,
    afterReuse,
    introspected,
    introspectedAfterRevocation,
    revoked_access_token: second.access_token,
    service_access_token: serviceTokens.access_token,
    serviceMe,
    service_scope: serviceTokens.scope,
    refused,
  };
}

const steps = { start, finish };
process.stdout.write(JSON.stringify(await steps[process.argv[2]]()));
