// Package oauth serves chainsts's OAuth 2.0 endpoints: the token endpoint
// with the token exchange (RFC 8693), JWT bearer (RFC 7523 §2.1) and client
// credentials grants, token introspection (RFC 7662), token revocation
// (RFC 7009) and authorization server metadata (RFC 8414, OpenID Connect
// Discovery). The `oauth` app (configuration section `oauth:`) contributes
// the routes to the public listener; every grant runs an STS chain, so
// tokens are shaped by the same modules and mapping rules as every other
// entry point.
//
// The package also registers the `oauth` module type, the step that brings
// the token endpoint's verified request into a chain: in validate mode it
// fills the universal user for grants without a subject token (the client
// of client_credentials, the verified assertion of the JWT bearer grant);
// in map mode it applies the token exchange policy (scope narrowing, the
// subject token's expiry, delegation with act). It only works inside a
// request made by the token endpoint, so no other entry point can feed it
// claims.
//
// See docs/oauth.md for the configuration, the chain lookup keys each grant
// uses and the error mapping.
package oauth
