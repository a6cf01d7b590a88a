// Generates the key pairs the suite needs, before the server starts:
// the private_key_jwt client's key and an external issuer's key (it signs
// token exchange subject tokens and JWT bearer assertions). The public
// halves become JWK Sets the chainsts configuration trusts; the private
// halves stay in keys.json for the test.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as jose from 'jose'

const dir = process.argv[2]
const out = {}
for (const name of ['client', 'partner']) {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const pub = await jose.exportJWK(publicKey)
  pub.kid = `${name}-1`
  pub.alg = 'ES256'
  pub.use = 'sig'
  writeFileSync(join(dir, `${name}.jwks`), JSON.stringify({ keys: [pub] }))
  out[name] = { ...(await jose.exportJWK(privateKey)), kid: pub.kid, alg: 'ES256' }
}
writeFileSync(join(dir, 'keys.json'), JSON.stringify(out), { mode: 0o600 })
