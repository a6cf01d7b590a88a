// Package keys holds chainsts's keystores: named sets of labelled keys loaded
// once, at configuration load, from PEM files (PKCS#1, PKCS#8, SEC1, X.509
// certificates), JWK and JWK Set files, HMAC secrets, and keys generated in
// the data directory in development mode.
//
// Every Key is bound to exactly one algorithm (SECURITY §1.2): a key loaded
// for ES256 never verifies an RS256 or HS256 signature. Signing goes through
// crypto.Signer, so a hardware or cloud signer can replace the in-memory
// private key without touching the modules that sign.
//
// The package also publishes the public keys of keystores marked public as a
// JWK Set (GET /jwks.json) and keeps remote JWK Sets (RemoteSet) fetched
// from configured URLs or an issuer's discovery document, refreshed in the
// background, with a cooldown on unknown-kid refetches and a staleness bound.
//
// The "keystores" app (configuration section `keystores:`) is registered
// here; modules reach it with sts.HostApp[*keys.App](host, "keystores").
package keys
