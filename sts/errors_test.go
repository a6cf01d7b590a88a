package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestErrorDerivation(t *testing.T) {
	cause := errors.New("signature mismatch")
	e := ErrInvalidGrant.WithDescription("token %s", "expired").WithCause(cause)
	if e.Code != "invalid_grant" || e.Status != http.StatusBadRequest || e.Description != "token expired" {
		t.Errorf("%+v", e)
	}
	if ErrInvalidGrant.Description != "the grant is invalid" || ErrInvalidGrant.Cause != nil {
		t.Error("a sentinel was modified")
	}
	if !errors.Is(e, ErrInvalidGrant) || errors.Is(e, ErrInvalidRequest) {
		t.Error("Is matches by code")
	}
	if !errors.Is(e, cause) {
		t.Error("Unwrap reaches the cause")
	}
	if got := e.Error(); got != "invalid_grant: token expired: signature mismatch" {
		t.Errorf("Error() = %q", got)
	}
}

func TestAsError(t *testing.T) {
	if AsError(nil) != nil {
		t.Error("nil")
	}
	// A bare *Error is returned as is, without repeating itself as cause.
	if got := AsError(ErrInvalidRequest); got != ErrInvalidRequest {
		t.Errorf("bare *Error: %v", got)
	}
	wrapped := fmt.Errorf("chain %q step %q: %w", "c", "s", ErrAccessDenied.WithDescription("denied by policy"))
	got := AsError(wrapped)
	if got.Code != "access_denied" || got.Status != http.StatusForbidden || got.Description != "denied by policy" || got.Cause != wrapped {
		t.Errorf("wrapped: %+v", got)
	}
	if got := AsError(fmt.Errorf("x: %w", context.DeadlineExceeded)); got.Code != "temporarily_unavailable" || got.Status != http.StatusServiceUnavailable {
		t.Errorf("deadline: %+v", got)
	}
	other := errors.New("disk full")
	if got := AsError(other); got.Code != "server_error" || got.Cause != other || got.Description != ErrServerError.Description {
		t.Errorf("other: %+v", got)
	}
}

func TestConfigError(t *testing.T) {
	err := ConfigErrorf("signing.key", "unknown key %q", "k1")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Path != "signing.key" || err.Error() != `signing.key: unknown key "k1"` {
		t.Errorf("%v", err)
	}
	if (&ConfigError{Err: errors.New("x")}).Error() != "x" {
		t.Error("no path")
	}
}
