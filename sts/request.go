package sts

import (
	"strings"
	"time"
)

// Short request type names (PRODUCT §2.2).
const (
	RequestIssue    = "issue"
	RequestValidate = "validate"
	RequestRenew    = "renew"
	RequestCancel   = "cancel"
	RequestExchange = "exchange"
	RequestKET      = "ket"
)

// WS-Trust request type URI prefixes accepted as synonyms of the short names.
const (
	WSTrust12Prefix = "http://schemas.xmlsoap.org/ws/2005/02/trust/"
	WSTrust13Prefix = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/"
)

var shortRequestTypes = map[string]string{
	"issue":    RequestIssue,
	"validate": RequestValidate,
	"renew":    RequestRenew,
	"cancel":   RequestCancel,
	"exchange": RequestExchange,
	"ket":      RequestKET,
}

// NormalizeRequestType maps a request type to its canonical form: the short
// names (any case) and the WS-Trust 1.2 and 1.3 URIs
// (".../trust/Validate", ".../200512/Validate") become "validate" etc.; any
// other URI is returned unchanged, as ISAM's "Other" request types are.
func NormalizeRequestType(s string) string {
	if n, ok := shortRequestTypes[strings.ToLower(s)]; ok {
		return n
	}
	for _, p := range []string{WSTrust12Prefix, WSTrust13Prefix} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			if n, ok := shortRequestTypes[strings.ToLower(rest)]; ok {
				return n
			}
		}
	}
	return s
}

// Token type URIs chainsts understands.
const (
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeSAML2        = "urn:ietf:params:oauth:token-type:saml2"
	// TokenTypeISAMJWT is the ValueType of a JWT carried as an ISAM
	// BinarySecurityToken.
	TokenTypeISAMJWT = "urn:com:ibm:JWT"
	// TokenTypeSTSUU is the token type of an STSUU document.
	TokenTypeSTSUU = "urn:ibm:names:ITFIM:1.0:stsuuser"
)

// Token is a security token as bytes, with its type URI.
type Token struct {
	// Type is the token type URI.
	Type string
	// Data is the token: a compact JWT, an XML document, a JSON document, an
	// opaque handle.
	Data []byte
	// ExpiresAt is when an issued token expires; zero when unknown.
	ExpiresAt time.Time
	// Scope is the space-separated scope an issued access token carries, when
	// the issuing module knows it.
	Scope string
	// IsAccessToken reports whether an issued token may be used as an OAuth
	// access token (RFC 8693 token_type "Bearer" rather than "N_A").
	IsAccessToken bool
}

// Request is one call into the STS, whatever the entry point (PRODUCT §2.2).
type Request struct {
	// ID identifies the request in logs and traces.
	ID string
	// Type is the request type, normalized with NormalizeRequestType.
	Type string
	// Issuer is the issuer address used for chain lookup.
	Issuer string
	// AppliesTo is the applies-to address used for chain lookup.
	AppliesTo string
	// AppliesToServiceName is the optional WS-Addressing service name.
	AppliesToServiceName string
	// TokenType is the token type used for chain lookup (for token exchange,
	// the subject_token_type).
	TokenType string
	// Base is the input token; nil for requests without one.
	Base *Token
	// Actor is the optional actor token (RFC 8693 delegation).
	Actor *Token
	// Claims are per-request claims (WS-Trust Claims children, the native
	// API's claims object): e.g. "signing.jwksUri". Values keep JSON types.
	Claims map[string]any
	// ClaimsXML is the raw wst:Claims element when the request carried one.
	ClaimsXML string
	// ClientID is the authenticated client, empty when anonymous.
	ClientID string
	// Scopes are the requested scopes.
	Scopes []string
	// RequestedTokenType is RFC 8693 requested_token_type.
	RequestedTokenType string
	// Audiences and Resources are RFC 8693 audience and resource values.
	Audiences []string
	Resources []string
	// Headers and Params are HTTP headers and request parameters, where the
	// entry point is HTTP; modules read them through context attributes.
	Headers map[string][]string
	Params  map[string][]string
	// Trace asks for a per-step STSUU snapshot in the response trace.
	Trace bool
	// Depth counts nested chain calls (LocalSTSClient); the chain runner
	// refuses requests deeper than its limit.
	Depth int
}

// LookupKey is the part of a request that selects a chain.
type LookupKey struct {
	RequestType        string
	Issuer             string
	AppliesTo          string
	TokenType          string
	ClientID           string
	SubjectTokenType   string
	RequestedTokenType string
}

// Key returns the request's lookup key.
func (r *Request) Key() LookupKey {
	return LookupKey{
		RequestType:        r.Type,
		Issuer:             r.Issuer,
		AppliesTo:          r.AppliesTo,
		TokenType:          r.TokenType,
		ClientID:           r.ClientID,
		SubjectTokenType:   r.TokenType,
		RequestedTokenType: r.RequestedTokenType,
	}
}

// String names the lookup key for error messages.
func (k LookupKey) String() string {
	var b strings.Builder
	b.WriteString("request_type=" + quote(k.RequestType))
	b.WriteString(" issuer=" + quote(k.Issuer))
	b.WriteString(" applies_to=" + quote(k.AppliesTo))
	b.WriteString(" token_type=" + quote(k.TokenType))
	if k.ClientID != "" {
		b.WriteString(" client_id=" + quote(k.ClientID))
	}
	if k.RequestedTokenType != "" {
		b.WriteString(" requested_token_type=" + quote(k.RequestedTokenType))
	}
	return b.String()
}

func quote(s string) string { return `"` + s + `"` }

// Response is the result of running a chain.
type Response struct {
	// Chain is the name of the chain that ran.
	Chain string
	// Token is the issued token (for stsuu issue, the STSUU document).
	Token *Token
	// User is the STSUU at the end of the chain.
	User *STSUU
	// Trace holds one entry per step that ran.
	Trace []TraceStep
}

// TraceStep records one step of a chain execution.
type TraceStep struct {
	Step     string        `json:"step"`
	Module   string        `json:"module"`
	Mode     Mode          `json:"mode"`
	Duration time.Duration `json:"duration_ns"`
	// Changes summarizes what the step changed in the STSUU (see Diff).
	Changes []string `json:"changes,omitempty"`
	// Error is the step's error message, when it failed.
	Error string `json:"error,omitempty"`
	// After is the STSUU after the step; set only when the request asked for
	// snapshots.
	After *STSUU `json:"-"`
}
