// A real OpenID Connect provider for the single sign-on tests: the certified `oidc-provider`
// package with its development sign-in pages (any password; the login name picks the account).
//
// Configured by the environment (tests/oidc_provider.py starts it):
//   PORT           port on 127.0.0.1 (the issuer is http://127.0.0.1:PORT)
//   CLIENTS        JSON list of {client_id, client_secret, redirect_uris}
//   ACCOUNTS_FILE  JSON object {login: {claims...}}, read at every sign-in so tests can change it
//   KEY_ID         the signing key's `kid` (a fresh RSA key is made at every start)
//   ROGUE_JWKS     "1": publish a different key under the same `kid` than the one that signs,
//                  so every ID token's signature is wrong for the keys the provider announces
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const kid = process.env.KEY_ID || 'test-key';

function rsaKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

function publicPart({ kty, n, e, alg, use }) {
  return { kty, n, e, alg, use, kid };
}

const signingKey = rsaKey();

const provider = new Provider(issuer, {
  clients: JSON.parse(process.env.CLIENTS).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...client,
  })),
  async findAccount(ctx, id) {
    const accounts = JSON.parse(readFileSync(process.env.ACCOUNTS_FILE, 'utf8'));
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified', 'hd'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  cookies: { keys: ['test-only-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});

if (process.env.ROGUE_JWKS === '1') {
  const announced = publicPart(rsaKey());
  provider.use(async (ctx, next) => {
    if (ctx.path === '/jwks') {
      ctx.type = 'application/jwk-set+json';
      ctx.body = { keys: [announced] };
      return;
    }
    await next();
  });
}

provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
