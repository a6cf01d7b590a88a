// Package opaque is the `opaque` module type: reference tokens. Issue mode
// draws a random handle (at least 256 bits), keeps the chain's universal user
// and the token's metadata in the store under a hash of the handle, and
// returns the handle; validate mode looks a handle up and restores the
// universal user it was issued from. Opaque tokens give introspection,
// revocation by deletion, and the phantom-token pattern (opaque token in,
// JWT out) without ever putting claims in the client's hands.
package opaque
