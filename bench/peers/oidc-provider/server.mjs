// The peer of bench/oidc_bench.py: npm oidc-provider 9 (OpenID Certified) configured like Ấn Tín, with a
// login interaction that checks the password by binding to the same slapd (ldapts), so that login flows
// compare like with like.
//
// Configuration comes as JSON in the environment variable PEER_CONFIG (the bench writes it):
//   { "issuer": "http://127.0.0.1:PORT", "port": PORT, "workers": 1,
//     "clients": [ { client metadata as oidc-provider takes it } ],
//     "ldap": { "url": "ldap://…", "base": "dc=…", "serviceDn": "…", "servicePassword": "…", "poolSize": 4 },
//     "resource": "urn:…"  (the resource server whose client_credentials tokens are RFC 9068 JWTs) }
// It prints "ready <issuer>" on stdout once every worker listens.
//
// Production mode: NODE_ENV=production (the bench sets it). With "workers" > 1 it forks one process per
// worker with node:cluster; the default in-memory adapter is per process, so the bench then passes
// "store": "redis://…" and every worker shares the state in Redis (oidc-provider's adapter interface).

import cluster from 'node:cluster';
import crypto from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';

import Provider, { errors } from 'oidc-provider';
import { Client, EqualityFilter, OrFilter, AndFilter } from 'ldapts';

const config = JSON.parse(process.env.PEER_CONFIG ?? '{}');
const workers = Math.max(1, Number(config.workers ?? 1));

function makeJwks() {
  // Both key types Ấn Tín publishes: RS256 for ID tokens (OIDC's default), ES256 for JWT access tokens.
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return {
    keys: [
      { ...rsa, kid: `rs-${crypto.randomUUID()}`, alg: 'RS256', use: 'sig' },
      { ...ec, kid: `es-${crypto.randomUUID()}`, alg: 'ES256', use: 'sig' },
    ],
  };
}

// -- the directory ------------------------------------------------------------------------------------------

class Directory {
  constructor({ url, base, serviceDn, servicePassword, poolSize = 4 }) {
    this.url = url;
    this.base = base;
    this.serviceDn = serviceDn;
    this.servicePassword = servicePassword;
    this.poolSize = poolSize;
    this.idleBinders = [];
    this.service = null;
  }

  async serviceClient() {
    if (!this.service) {
      const client = new Client({ url: this.url, timeout: 5000, connectTimeout: 5000 });
      this.service = client.bind(this.serviceDn, this.servicePassword).then(() => client);
      this.service.catch(() => { this.service = null; });
    }
    return this.service;
  }

  async findPerson(filter) {
    const client = await this.serviceClient();
    const { searchEntries } = await client.search(this.base, {
      scope: 'sub',
      filter: new AndFilter({ filters: [new EqualityFilter({ attribute: 'objectClass', value: 'inetOrgPerson' }), filter] }),
      attributes: ['entryUUID', 'uid', 'cn', 'givenName', 'sn', 'displayName', 'mail'],
      sizeLimit: 2,
    });
    return searchEntries.length === 1 ? searchEntries[0] : null;
  }

  // Username or e-mail, as Ấn Tín's login page takes them; the password is checked by binding as the person.
  async authenticate(login, password) {
    if (!login || !password) return null;
    const entry = await this.findPerson(new OrFilter({
      filters: [new EqualityFilter({ attribute: 'uid', value: login }), new EqualityFilter({ attribute: 'mail', value: login })],
    }));
    if (!entry) return null;
    const binder = this.idleBinders.pop() ?? new Client({ url: this.url, timeout: 5000, connectTimeout: 5000 });
    try {
      await binder.bind(entry.dn, password);
    } catch (err) {
      if (err?.code === 49) { // invalidCredentials: the connection stays usable
        this.release(binder);
        return null;
      }
      await binder.unbind().catch(() => {});
      throw err;
    }
    this.release(binder);
    return toClaims(entry);
  }

  release(binder) {
    if (this.idleBinders.length < this.poolSize) this.idleBinders.push(binder);
    else binder.unbind().catch(() => {});
  }

  // Read from slapd every time oidc-provider asks for the account (token exchange, refresh: a disabled or
  // deleted official must stop getting tokens), as Ấn Tín reads the directory; no cache on either side.
  async claimsOf(sub) {
    const entry = await this.findPerson(new EqualityFilter({ attribute: 'entryUUID', value: sub }));
    return entry ? toClaims(entry) : null;
  }
}

function first(value) {
  return Array.isArray(value) ? value[0] : value;
}

function toClaims(entry) {
  return {
    sub: String(first(entry.entryUUID)),
    preferred_username: first(entry.uid),
    name: first(entry.displayName) ?? first(entry.cn),
    given_name: first(entry.givenName),
    family_name: first(entry.sn),
    email: first(entry.mail),
  };
}

// -- the provider -------------------------------------------------------------------------------------------

async function serve(shared) {
  const directory = new Directory(config.ldap);
  const resource = config.resource ?? 'urn:antin:bench:api';
  const adapter = config.store ? (await import('./redis_adapter.mjs')).adapterFor(config.store) : undefined;
  const provider = new Provider(config.issuer, {
    adapter,
    clients: config.clients,
    jwks: shared.jwks,
    cookies: { keys: shared.cookieKeys },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email'],
    },
    // Authorization code with PKCE (S256 only: oidc-provider 9 knows no "plain") for every client.
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // client_credentials tokens are for the API: RFC 9068 JWTs signed ES256, like Ấn Tín's. Code-flow
        // access tokens stay opaque (oidc-provider can introspect only those, and the bench introspects them).
        defaultResource: (ctx, client, oneOf) => {
          if (oneOf) return oneOf;
          return ctx.oidc.params?.grant_type === 'client_credentials' ? resource : undefined;
        },
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return { scope: 'api', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
    // Refresh tokens for every client allowed the grant (offline_access would need prompt=consent here),
    // rotated on every use: reuse of a rotated token is refused.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      IdToken: 600,
      RefreshToken: 8 * 3600,
      Interaction: 600,
      Session: 10 * 3600,
      Grant: 10 * 3600,
    },
    findAccount: async (ctx, sub) => {
      const claims = await directory.claimsOf(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => claims };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${out.error}: ${out.error_description ?? ''}\n`;
    },
  });
  provider.proxy = true; // behind the TLS-terminating proxy the bench plays: trust X-Forwarded-Proto and Host

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      handleInteraction(provider, directory, req, res).catch((err) => {
        console.error('interaction failed', err?.message ?? err);
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('interaction failed\n');
        }
      });
      return;
    }
    callback(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(config.port, '127.0.0.1');
  await once(server, 'listening');
  if (cluster.isWorker) process.send('ready');
  else console.log(`ready ${config.issuer}`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('SIGINT', () => server.close(() => process.exit(0)));
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
};

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, message) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Sign in</h1>${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>Username or e-mail <input name="username" autofocus required></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16_384) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// The interaction: a login page, then a bind to slapd. The bench's clients are first-party ("trusted" in
// Ấn Tín's terms), so consent is granted with the login and the browser goes straight back to the client.
async function handleInteraction(provider, directory, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (req.method === 'GET') {
    res.writeHead(200, PAGE_HEADERS);
    res.end(loginPage(uid, ''));
    return;
  }
  if (req.method !== 'POST' || !req.url.endsWith('/login')) {
    res.writeHead(405, { allow: 'GET, POST' });
    res.end();
    return;
  }
  const form = await readForm(req);
  const person = await directory.authenticate(form.get('username') ?? '', form.get('password') ?? '');
  if (!person) {
    res.writeHead(200, PAGE_HEADERS);
    res.end(loginPage(uid, 'Wrong username or password.'));
    return;
  }
  const grant = new provider.Grant({ accountId: person.sub, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope ?? 'openid'));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  const result = {
    login: { accountId: person.sub, amr: ['pwd'], acr: 'urn:antin:acr:password' },
    consent: { grantId },
  };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// -- start (after every declaration above) ------------------------------------------------------------

if (cluster.isPrimary && workers > 1) {
  // Every worker must sign with the same keys and cookie secrets: make them once, hand them down.
  const shared = { jwks: makeJwks(), cookieKeys: [crypto.randomBytes(32).toString('base64url')] };
  let ready = 0;
  for (let i = 0; i < workers; i += 1) {
    const worker = cluster.fork({ PEER_SHARED: JSON.stringify(shared) });
    worker.on('message', (message) => {
      if (message === 'ready') {
        ready += 1;
        if (ready === workers) console.log(`ready ${config.issuer}`);
      }
    });
  }
  cluster.on('exit', (worker, code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0) {
      console.error(`worker ${worker.process.pid} died (${signal ?? code})`);
      process.exit(1);
    }
  });
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
      process.exit(0);
    });
  }
} else {
  const shared = process.env.PEER_SHARED
    ? JSON.parse(process.env.PEER_SHARED)
    : { jwks: makeJwks(), cookieKeys: [crypto.randomBytes(32).toString('base64url')] };
  serve(shared).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
