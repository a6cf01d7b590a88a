// Package secrets reads secret values from chainsts configuration.
//
// A configured secret (a client secret, an HMAC key, a database password) is
// written in one of these forms, resolved by a Resolver:
//
//	${env:NAME}   the value of the environment variable NAME
//	@path         the contents of the file at path (relative to the
//	              configuration directory), without a trailing newline
//	OBF:...       an obfuscated value (Jetty's OBF format): it keeps a
//	              secret from being read over a shoulder, nothing more
//	ENC:...       a value encrypted with AES-256-GCM under the
//	              installation's encryption key (see EncryptionKeySource)
//
// A reference may hold an encoded value (an environment variable holding an
// ENC: value); resolution goes one level deep, never further.
//
// The package also holds the primitives behind `chainsts secret`: generating
// high-entropy secrets, obfuscating and encrypting values, and reading or
// creating key files.
package secrets
