// A relying party on npm oauth4webapi 3 (OpenID Certified) using DPoP, driven by pytest over stdin/stdout.
//
// argv[2] is a JSON object: {issuer, client_id, client_secret, redirect_uri, scope, par: bool, par_proof: bool,
// par_dpop_header?: string (a raw DPoP header sent to /par instead of a proof), dpop_jkt?: "a"|"b",
// exchange_key: "a"|"b"|"none", userinfo: bool, refresh: bool}. Key "a" is the client's DPoP key, "b" another one.
// It prints {"authorization_url"} (or {"par_error"} when the pushed request is refused) and reads one line
// {"callback"}; then it redeems the code with the chosen key (PKCE, state, nonce, RFC 9207 iss and the ID token
// signature all checked), calls userinfo and refreshes, and prints what it got as one JSON line. When the server
// answers use_dpop_nonce, it retries once with the nonce it was given, as oauth4webapi's documentation shows;
// "nonce_retries" lists where that happened.
import * as oauth from 'oauth4webapi'
import * as readline from 'node:readline'

const cfg = JSON.parse(process.argv[2])
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const insecure = { [oauth.allowInsecureRequests]: cfg.issuer.startsWith('http:') }
const nonceRetries = []

async function retryingOnNonce (where, attempt) {
  try {
    return await attempt()
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err
    nonceRetries.push(where)
    return await attempt() // the handle cached the DPoP-Nonce of the refusal
  }
}

function protocolError (err) {
  return { error: err.error ?? err.code ?? err.name, status: err.status ?? null, description: err.message }
}

async function main () {
  const issuer = new URL(cfg.issuer)
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure))
  const client = { client_id: cfg.client_id }
  const clientAuth = oauth.ClientSecretBasic(cfg.client_secret)
  const keys = { a: await oauth.generateKeyPair('ES256'), b: await oauth.generateKeyPair('ES256') }
  const dpop = { a: oauth.DPoP(client, keys.a), b: oauth.DPoP(client, keys.b) }
  const jkt = { a: await dpop.a.calculateThumbprint(), b: await dpop.b.calculateThumbprint() }

  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const params = new URLSearchParams({
    redirect_uri: cfg.redirect_uri,
    scope: cfg.scope,
    response_type: 'code',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce
  })
  if (cfg.dpop_jkt) params.set('dpop_jkt', jkt[cfg.dpop_jkt])

  const authorizationUrl = new URL(as.authorization_endpoint)
  authorizationUrl.searchParams.set('client_id', client.client_id)
  if (cfg.par) {
    let pushed
    try {
      pushed = await retryingOnNonce('par', async () => {
        const options = { ...insecure }
        if (cfg.par_dpop_header !== undefined) options.headers = { dpop: cfg.par_dpop_header }
        else if (cfg.par_proof) options.DPoP = dpop.a
        const response = await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, options)
        return await oauth.processPushedAuthorizationResponse(as, client, response)
      })
    } catch (err) {
      out({ par_error: protocolError(err), jkt, nonce_retries: nonceRetries })
      return
    }
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri)
  } else {
    for (const [name, value] of params) authorizationUrl.searchParams.set(name, value)
  }
  out({ authorization_url: authorizationUrl.href })

  const rl = readline.createInterface({ input: process.stdin })
  const line = await new Promise((resolve) => rl.once('line', resolve))
  rl.close()
  const callback = oauth.validateAuthResponse(as, client, new URL(JSON.parse(line).callback), state)
  const handle = cfg.exchange_key === 'none' ? undefined : dpop[cfg.exchange_key]
  let tokens
  try {
    tokens = await retryingOnNonce('token', async () => {
      const response = await oauth.authorizationCodeGrantRequest(
        as, client, clientAuth, callback, cfg.redirect_uri, verifier, { ...insecure, DPoP: handle })
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: nonce, requireIdToken: true
      })
      await oauth.validateApplicationLevelSignature(as, response, insecure) // the ID token's signature
      return result
    })
  } catch (err) {
    out({ exchange_error: protocolError(err), jkt, nonce_retries: nonceRetries })
    return
  }
  const claims = oauth.getValidatedIdTokenClaims(tokens)
  let userinfo = null
  if (cfg.userinfo) {
    userinfo = await retryingOnNonce('userinfo', async () => {
      const response = await oauth.userInfoRequest(as, client, tokens.access_token, { ...insecure, DPoP: handle })
      return await oauth.processUserInfoResponse(as, client, claims.sub, response)
    })
  }
  let refreshed = null
  if (cfg.refresh) {
    refreshed = await retryingOnNonce('refresh', async () => {
      const response = await oauth.refreshTokenGrantRequest(
        as, client, clientAuth, tokens.refresh_token, { ...insecure, DPoP: handle })
      return await oauth.processRefreshTokenResponse(as, client, response)
    })
  }
  out({
    claims,
    userinfo,
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    refreshed: refreshed && { token_type: refreshed.token_type, access_token: refreshed.access_token },
    jkt,
    nonce_retries: nonceRetries
  })
}

main().catch((err) => {
  out({ error: `${err.name}: ${err.message}`, code: err.code ?? null, cause: String(err.cause ?? '') })
  process.exit(1)
})
