package sts

import (
	"strings"
	"testing"
)

func TestNormalizeRequestType(t *testing.T) {
	tests := map[string]string{
		"validate": "validate",
		"Validate": "validate",
		"ISSUE":    "issue",
		"http://schemas.xmlsoap.org/ws/2005/02/trust/Validate":    "validate",
		"http://schemas.xmlsoap.org/ws/2005/02/trust/Issue":       "issue",
		"http://schemas.xmlsoap.org/ws/2005/02/trust/KET":         "ket",
		"http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew":  "renew",
		"http://docs.oasis-open.org/ws-sx/ws-trust/200512/Cancel": "cancel",
		"http://docs.oasis-open.org/ws-sx/ws-trust/200512/Other":  "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Other",
		"urn:custom:request": "urn:custom:request",
		"":                   "",
	}
	for in, want := range tests {
		if got := NormalizeRequestType(in); got != want {
			t.Errorf("NormalizeRequestType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLookupKey(t *testing.T) {
	r := &Request{Type: "validate", Issuer: "http://issuer/stsuu", AppliesTo: "http://appliesto/stsuu", TokenType: TokenTypeSTSUU, ClientID: "c1"}
	k := r.Key()
	if k.SubjectTokenType != TokenTypeSTSUU || k.ClientID != "c1" {
		t.Errorf("key %+v", k)
	}
	s := k.String()
	for _, want := range []string{`request_type="validate"`, `issuer="http://issuer/stsuu"`, `applies_to="http://appliesto/stsuu"`, `client_id="c1"`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	if strings.Contains((&Request{Type: "issue"}).Key().String(), "client_id") {
		t.Error("empty client id is shown")
	}
}
