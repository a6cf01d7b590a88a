package oauth

import (
	"net/http"
	"slices"

	"github.com/chainsts/chainsts/clients"
)

// Metadata returns the authorization server metadata (RFC 8414 §2), served
// at both well-known paths. The issuer is the configured string byte for
// byte; grant types are listed explicitly (the RFC 8414 default of
// authorization_code and implicit would be wrong for chainsts); every
// signing algorithm of issued tokens appears in
// id_token_signing_alg_values_supported too, because some verifiers take
// their allow-list from it.
func (a *App) Metadata() map[string]any {
	assertionAlgs := a.ClientAssertion.Algorithms
	if len(assertionAlgs) == 0 {
		assertionAlgs = clients.DefaultAssertionAlgorithms
	}
	introspectMethods := slices.DeleteFunc(slices.Clone(a.authMethods), func(m string) bool { return m == clients.MethodNone })
	algs := a.algs
	if algs == nil {
		algs = []string{}
	}
	return map[string]any{
		"issuer":                                a.Issuer,
		"token_endpoint":                        a.Issuer + TokenPath,
		"introspection_endpoint":                a.Issuer + IntrospectionPath,
		"revocation_endpoint":                   a.Issuer + RevocationPath,
		"jwks_uri":                              a.Issuer + JWKSPath,
		"grant_types_supported":                 a.grants,
		"response_types_supported":              []string{},
		"token_endpoint_auth_methods_supported": a.authMethods,
		"token_endpoint_auth_signing_alg_values_supported":         assertionAlgs,
		"introspection_endpoint_auth_methods_supported":            introspectMethods,
		"introspection_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"revocation_endpoint_auth_methods_supported":               a.authMethods,
		"revocation_endpoint_auth_signing_alg_values_supported":    assertionAlgs,
		"id_token_signing_alg_values_supported":                    algs,
		"subject_types_supported":                                  []string{"public"},
	}
}

func (a *App) serveMetadata(w http.ResponseWriter, r *http.Request) {
	m := a.Metadata()
	fields := make([]field, 0, len(m))
	// issuer first, for people reading it with curl.
	fields = append(fields, field{"issuer", m["issuer"]})
	for _, k := range sortedKeys(m) {
		if k != "issuer" {
			fields = append(fields, field{k, m[k]})
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeFields(w, http.StatusOK, FormatJSON, "", fields)
}
