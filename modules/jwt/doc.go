// Package jwt is the chainsts "jwt" module: it validates JWS and nested
// JWE tokens into the universal user (validate mode) and issues signed, and
// optionally encrypted, JWTs from it (issue mode), as PRODUCT §3.1 and §3.2
// describe and SECURITY §1 constrains.
//
// Validation never trusts the token to choose its own verification: the raw
// token passes pre-parse checks before any library sees it, the algorithm
// comes from the step's allow-list, keys are found by (issuer, kid) among
// the keys configured for that issuer and are bound to one algorithm each,
// and header-supplied keys (jwk, jku, x5u, x5c) are never used or fetched.
// Signatures are checked by keys.Key: RSA and RSA-PSS through golang-jwt's
// signing methods (chainsts's strict RSA-PSS methods are registered in
// package keys), ECDSA, EdDSA and HMAC directly with crypto/*. JWE goes
// through go-jose v4 with explicit algorithm allow-lists. Headers and claim
// sets are read by a small JSON reader (json.go) that refuses duplicate
// members and keeps numbers as their literals.
//
// Issuing builds the claims from STSUU attributes of type urn:ibm:jwt:claim,
// the claim_json context attribute and the step configuration, keeps JSON
// types, protects the reserved claims and headers (SECURITY §3.4), and signs
// through keys.Key, whose crypto.Signer may be an HSM or KMS.
//
// See README.md in this directory for the configuration reference.
package jwt
