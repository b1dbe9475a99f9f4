// An OpenID Connect relying party on npm openid-client 6 (OpenID Certified), driven by pytest over stdin/stdout.
//
// argv[2] is a JSON object: {issuer, client_id, client_secret?, auth: "basic"|"post"|"none", redirect_uri,
// post_logout_redirect_uri?, scope, acr_values?}. It prints {"authorization_url"} and reads one line {"callback"}; then
// it redeems the code (PKCE, state, nonce, RFC 9207 iss and the ID token signature all checked), calls
// userinfo, refreshes, builds the end-session URL, and prints everything it got as one JSON line.
// With acr_values it asks for those levels and, as an RP that needs them must (the library leaves it to the
// application), refuses an ID token whose acr is not one of them.
import * as client from 'openid-client'
import * as readline from 'node:readline'

const cfg = JSON.parse(process.argv[2])
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

function clientAuth () {
  if (cfg.auth === 'none') return client.None()
  if (cfg.auth === 'post') return client.ClientSecretPost(cfg.client_secret)
  return client.ClientSecretBasic(cfg.client_secret)
}

async function main () {
  const execute = [client.enableNonRepudiationChecks]
  if (cfg.issuer.startsWith('http:')) execute.push(client.allowInsecureRequests)
  const config = await client.discovery(new URL(cfg.issuer), cfg.client_id, undefined, clientAuth(), { execute })
  const verifier = client.randomPKCECodeVerifier()
  const challenge = await client.calculatePKCECodeChallenge(verifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const params = {
    redirect_uri: cfg.redirect_uri,
    scope: cfg.scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce
  }
  if (cfg.acr_values) params.acr_values = cfg.acr_values
  const url = client.buildAuthorizationUrl(config, params)
  out({ authorization_url: url.href })
  const rl = readline.createInterface({ input: process.stdin })
  const line = await new Promise((resolve) => rl.once('line', resolve))
  rl.close()
  const { callback } = JSON.parse(line)
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true
  })
  const claims = tokens.claims()
  if (cfg.acr_values && !cfg.acr_values.split(' ').includes(claims.acr)) {
    throw new Error(`the ID token's acr ${claims.acr} is not one of the levels asked for (${cfg.acr_values})`)
  }
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  let refreshed = null
  if (tokens.refresh_token) {
    const r = await client.refreshTokenGrant(config, tokens.refresh_token)
    refreshed = { access_token: r.access_token, refresh_token: r.refresh_token, sub: r.claims()?.sub ?? null }
  }
  const endSession = cfg.post_logout_redirect_uri
    ? client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: cfg.post_logout_redirect_uri,
      state: 'bye'
    }).href
    : null
  out({
    claims,
    userinfo,
    access_token: tokens.access_token,
    id_token: tokens.id_token,
    refresh_token: tokens.refresh_token ?? null,
    refreshed,
    end_session_url: endSession
  })
}

main().catch((err) => {
  out({ error: `${err.name}: ${err.message}`, code: err.code ?? null, cause: String(err.cause ?? '') })
  process.exit(1)
})
