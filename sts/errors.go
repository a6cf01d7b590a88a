package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Error is the one error type that crosses the boundary between chainsts and
// its callers. It carries an OAuth 2.0 error code (RFC 6749 §5.2, RFC 8693
// §2.2.2, RFC 7009, RFC 7662), the HTTP status that code travels with, a
// description that is safe to show to the caller, and a hidden cause that is
// only ever logged.
//
// Modules return an *Error when the failure is the caller's (a bad token, a
// denied request); any other error is treated as a server fault and answered
// as server_error with a generic description.
type Error struct {
	// Code is the OAuth error code, e.g. "invalid_request".
	Code string
	// Status is the HTTP status to answer with.
	Status int
	// Description is safe to return to the caller. It never contains token
	// material, key material or internal detail.
	Description string
	// Cause is the underlying reason. It is logged with the request id and
	// never serialized.
	Cause error
}

// Error implements error. It includes the cause so that logs and wrapped
// messages carry the detail; serializers use Code and Description only.
func (e *Error) Error() string {
	msg := e.Code
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the hidden cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, sts.ErrInvalidRequest) matches any invalid_request error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithDescription returns a copy of e with a caller-visible description.
func (e *Error) WithDescription(format string, args ...any) *Error {
	c := *e
	c.Description = fmt.Sprintf(format, args...)
	return &c
}

// WithCause returns a copy of e carrying a hidden cause.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// Sentinels for the OAuth error codes chainsts answers with. Use them with
// errors.Is, and derive request-specific errors with WithDescription and
// WithCause so the sentinel itself is never modified.
var (
	// RFC 6749 §5.2
	ErrInvalidRequest       = &Error{Code: "invalid_request", Status: http.StatusBadRequest, Description: "the request is invalid"}
	ErrInvalidClient        = &Error{Code: "invalid_client", Status: http.StatusUnauthorized, Description: "client authentication failed"}
	ErrInvalidGrant         = &Error{Code: "invalid_grant", Status: http.StatusBadRequest, Description: "the grant is invalid"}
	ErrUnauthorizedClient   = &Error{Code: "unauthorized_client", Status: http.StatusBadRequest, Description: "the client is not allowed to use this grant"}
	ErrUnsupportedGrantType = &Error{Code: "unsupported_grant_type", Status: http.StatusBadRequest, Description: "the grant type is not supported"}
	ErrInvalidScope         = &Error{Code: "invalid_scope", Status: http.StatusBadRequest, Description: "the requested scope is invalid"}
	// RFC 6749 §4.1.2.1
	ErrAccessDenied = &Error{Code: "access_denied", Status: http.StatusForbidden, Description: "access denied"}
	// RFC 8693 §2.2.2
	ErrInvalidTarget = &Error{Code: "invalid_target", Status: http.StatusBadRequest, Description: "the requested audience or resource is not acceptable"}
	// RFC 7009 §2.2.1
	ErrUnsupportedTokenType = &Error{Code: "unsupported_token_type", Status: http.StatusBadRequest, Description: "the token type is not supported"}
	// RFC 6749 §4.1.2.1 / RFC 6750
	ErrServerError            = &Error{Code: "server_error", Status: http.StatusInternalServerError, Description: "the server could not process the request"}
	ErrTemporarilyUnavailable = &Error{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable, Description: "the service is temporarily unavailable"}
	ErrInvalidToken           = &Error{Code: "invalid_token", Status: http.StatusUnauthorized, Description: "the token is invalid"}
	// ErrNoChain is answered when no chain matches a request's lookup key.
	ErrNoChain = &Error{Code: "invalid_request", Status: http.StatusBadRequest, Description: "no chain matches the request"}
	// ErrTooManyRequests is answered by rate limits (with Retry-After).
	ErrTooManyRequests = &Error{Code: "slow_down", Status: http.StatusTooManyRequests, Description: "too many requests"}
)

// AsError converts any error into an *Error: an *Error is returned as is;
// an *Error wrapped in context (chain, step) keeps its code, status and
// description and gets the whole wrapped error as hidden cause; a context
// deadline becomes temporarily_unavailable; any other error becomes
// server_error with the original as hidden cause.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if err == error(e) {
			return e
		}
		// Keep the full wrapped message as the cause so the log shows the
		// chain/step context added around the *Error.
		c := *e
		c.Cause = err
		return &c
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ErrTemporarilyUnavailable.WithCause(err)
	}
	return ErrServerError.WithCause(err)
}

// ConfigError is a configuration problem found by a module or app after its
// configuration was decoded (a dangling key reference, an impossible
// combination). Path is the dotted path of the offending key relative to the
// component's configuration (e.g. "signing.key"); the config loader turns it
// into a file, line and column.
type ConfigError struct {
	Path string
	Err  error
}

// Error implements error.
func (e *ConfigError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// ConfigErrorf builds a *ConfigError for the key at path.
func ConfigErrorf(path, format string, args ...any) error {
	return &ConfigError{Path: path, Err: fmt.Errorf(format, args...)}
}
