// Interop: a certified-grade OAuth client library (oauth4webapi) and a
// JOSE library (jose) against a real `chainsts serve`: discovery, client
// credentials (client_secret_basic, client_secret_post, private_key_jwt),
// token exchange and the JWT bearer grant through the generic grant API,
// introspection and revocation, and verification of every issued token
// with createRemoteJWKSet on the advertised jwks_uri.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as oauth from 'oauth4webapi'
import * as jose from 'jose'

const base = process.env.CHAINSTS_URL
const dir = process.env.CHAINSTS_INTEROP_DIR
const secret = process.env.CHAINSTS_CLIENT_SECRET
const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8'))
const issuer = new URL(base)
const insecure = { [oauth.allowInsecureRequests]: true } // loopback http

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const JWTB = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }))
const JWKS = jose.createRemoteJWKSet(new URL(as.jwks_uri))

async function verifyAccessToken (token, extra = {}) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, JWKS, {
    issuer: as.issuer, typ: 'at+jwt', algorithms: as.id_token_signing_alg_values_supported, ...extra
  })
  assert.equal(protectedHeader.alg, 'ES256')
  return payload
}

const partnerKey = await jose.importJWK(keys.partner, 'ES256')
async function partnerJWT (claims, aud) {
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: keys.partner.kid, typ: 'JWT' })
    .setIssuer('https://partner.example').setAudience(aud).setIssuedAt().setExpirationTime('10m').setJti(crypto.randomUUID())
    .sign(partnerKey)
}

test('discovery: both documents, issuer byte-identical', async () => {
  assert.equal(as.issuer, base)
  const oidc = await (await fetch(new URL('/.well-known/openid-configuration', base))).json()
  assert.deepEqual(oidc, as)
  assert.deepEqual(as.grant_types_supported, [TE, JWTB, 'client_credentials'])
  assert.ok(as.token_endpoint_auth_methods_supported.includes('private_key_jwt'))
  assert.ok(as.id_token_signing_alg_values_supported.includes('ES256'))
})

test('client credentials with client_secret_basic, verified with the remote JWKS', async () => {
  const client = { client_id: 'interop-basic' }
  const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(secret), { scope: 'read' }, insecure)
  const tok = await oauth.processClientCredentialsResponse(as, client, res)
  assert.equal(tok.token_type, 'bearer')
  assert.ok(tok.expires_in > 0)
  const claims = await verifyAccessToken(tok.access_token, { audience: 'https://api.example' })
  assert.equal(claims.client_id, 'interop-basic')
  assert.equal(claims.scope, 'read')
  assert.equal(res.headers.get('cache-control'), 'no-store')
})

test('client credentials with client_secret_post', async () => {
  const client = { client_id: 'interop-post' }
  const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost(secret), {}, insecure)
  const tok = await oauth.processClientCredentialsResponse(as, client, res)
  await verifyAccessToken(tok.access_token)
})

test('client credentials with private_key_jwt', async () => {
  const client = { client_id: 'interop-pkj' }
  const key = { key: await jose.importJWK(keys.client, 'ES256'), kid: keys.client.kid }
  const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.PrivateKeyJwt(key), {}, insecure)
  const tok = await oauth.processClientCredentialsResponse(as, client, res)
  const claims = await verifyAccessToken(tok.access_token)
  assert.equal(claims.client_id, 'interop-pkj')
})

test('wrong secret is refused with invalid_client', async () => {
  const client = { client_id: 'interop-basic' }
  const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic('wrong'), {}, insecure)
  await assert.rejects(oauth.processClientCredentialsResponse(as, client, res), (err) => {
    // A 401 with WWW-Authenticate surfaces as a challenge error whose
    // parameters carry the code; a plain error response as err.error.
    const code = err.error ?? err.cause?.[0]?.parameters?.error
    assert.equal(code, 'invalid_client')
    assert.equal(err.status ?? err.response?.status, 401)
    return true
  })
})

test('token exchange (RFC 8693) through the generic grant', async () => {
  const client = { client_id: 'interop-basic' }
  const subject = await partnerJWT({ sub: 'alice', scope: 'read write' }, base)
  const res = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(secret), TE, {
    subject_token: subject, subject_token_type: JWT_TYPE, audience: 'https://api.example', scope: 'read'
  }, insecure)
  const tok = await oauth.processGenericTokenEndpointResponse(as, client, res)
  assert.equal(tok.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
  assert.equal(tok.token_type, 'bearer')
  const claims = await verifyAccessToken(tok.access_token, { audience: 'https://api.example' })
  assert.equal(claims.sub, 'alice')
  assert.equal(claims.scope, 'read')
})

test('token exchange with an unacceptable subject token is invalid_request', async () => {
  const client = { client_id: 'interop-basic' }
  const res = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(secret), TE, {
    subject_token: 'e30.e30.e30', subject_token_type: JWT_TYPE, audience: 'https://api.example'
  }, insecure)
  await assert.rejects(oauth.processGenericTokenEndpointResponse(as, client, res), (err) => {
    assert.equal(err.error, 'invalid_request')
    return true
  })
})

test('JWT bearer grant (RFC 7523) through the generic grant', async () => {
  const client = { client_id: 'interop-basic' }
  const assertion = await partnerJWT({ sub: 'user-7' }, `${base}/oauth2/token`)
  const res = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(secret), JWTB, { assertion }, insecure)
  const tok = await oauth.processGenericTokenEndpointResponse(as, client, res)
  const claims = await verifyAccessToken(tok.access_token)
  assert.equal(claims.sub, 'user-7')
  // The same assertion a second time is a replay.
  const again = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(secret), JWTB, { assertion }, insecure)
  await assert.rejects(oauth.processGenericTokenEndpointResponse(as, client, again), (err) => err.error === 'invalid_grant')
})

test('introspection and revocation', async () => {
  const client = { client_id: 'interop-basic' }
  const auth = oauth.ClientSecretBasic(secret)
  const tok = await oauth.processClientCredentialsResponse(as, client,
    await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read' }, insecure))
  let info = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tok.access_token, insecure))
  assert.equal(info.active, true)
  assert.equal(info.client_id, 'interop-basic')
  assert.equal(info.scope, 'read')
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, tok.access_token, insecure))
  info = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tok.access_token, insecure))
  assert.deepEqual(info, { active: false })
})

test('opaque access tokens for a client that asks for them, introspected', async () => {
  const client = { client_id: 'interop-opaque' }
  const auth = oauth.ClientSecretBasic(secret)
  const tok = await oauth.processClientCredentialsResponse(as, client,
    await oauth.clientCredentialsGrantRequest(as, client, auth, {}, insecure))
  assert.ok(!tok.access_token.includes('.'))
  const info = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tok.access_token, insecure))
  assert.equal(info.active, true)
  assert.equal(info.client_id, 'interop-opaque')
})
