package chains

import (
	"io"
	"log"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// lazyLogger is parent.With(args...) built on first use. hclog's With
// copies the logger and sorts its arguments; a chain run gives each step a
// logger carrying the chain, request id and step, which most steps never
// write to at the configured level. Checking the level first keeps that
// cost off the request path; once a line is written the logger is the one
// With would have returned, so the output is the same.
type lazyLogger struct {
	// root is the nearest logger that is not lazy: it answers for the
	// level, which With does not change.
	root   hclog.Logger
	parent hclog.Logger
	args   []any
	built  atomic.Pointer[hclog.Logger]
}

// LazyWith returns a logger that writes what parent.With(args...) writes,
// but builds that logger only when a line is written at an enabled level,
// for request-scoped loggers on hot paths (the server's request logger).
func LazyWith(parent hclog.Logger, args ...any) hclog.Logger { return lazyWith(parent, args) }

// lazyWith is LazyWith taking the argument slice, which it keeps, not
// copies: callers pass slices nobody changes.
func lazyWith(parent hclog.Logger, args []any) hclog.Logger {
	root := parent
	if l, ok := parent.(*lazyLogger); ok {
		root = l.root
	}
	return &lazyLogger{root: root, parent: parent, args: args}
}

func (l *lazyLogger) real() hclog.Logger {
	if p := l.built.Load(); p != nil {
		return *p
	}
	p := l.parent
	if lp, ok := p.(*lazyLogger); ok {
		p = lp.real()
	}
	r := p.With(l.args...)
	// Two goroutines may build it at once; both results are equivalent.
	l.built.Store(&r)
	return r
}

func (l *lazyLogger) Log(level hclog.Level, msg string, args ...any) {
	l.real().Log(level, msg, args...)
}

func (l *lazyLogger) Trace(msg string, args ...any) {
	if l.root.IsTrace() {
		l.real().Trace(msg, args...)
	}
}

func (l *lazyLogger) Debug(msg string, args ...any) {
	if l.root.IsDebug() {
		l.real().Debug(msg, args...)
	}
}

func (l *lazyLogger) Info(msg string, args ...any) {
	if l.root.IsInfo() {
		l.real().Info(msg, args...)
	}
}

func (l *lazyLogger) Warn(msg string, args ...any) {
	if l.root.IsWarn() {
		l.real().Warn(msg, args...)
	}
}

func (l *lazyLogger) Error(msg string, args ...any) {
	if l.root.IsError() {
		l.real().Error(msg, args...)
	}
}

func (l *lazyLogger) IsTrace() bool           { return l.root.IsTrace() }
func (l *lazyLogger) IsDebug() bool           { return l.root.IsDebug() }
func (l *lazyLogger) IsInfo() bool            { return l.root.IsInfo() }
func (l *lazyLogger) IsWarn() bool            { return l.root.IsWarn() }
func (l *lazyLogger) IsError() bool           { return l.root.IsError() }
func (l *lazyLogger) GetLevel() hclog.Level   { return l.root.GetLevel() }
func (l *lazyLogger) SetLevel(lv hclog.Level) { l.real().SetLevel(lv) }
func (l *lazyLogger) Name() string            { return l.root.Name() }
func (l *lazyLogger) ImpliedArgs() []any      { return l.real().ImpliedArgs() }

func (l *lazyLogger) With(args ...any) hclog.Logger { return lazyWith(l, args) }

func (l *lazyLogger) Named(name string) hclog.Logger      { return l.real().Named(name) }
func (l *lazyLogger) ResetNamed(name string) hclog.Logger { return l.real().ResetNamed(name) }

func (l *lazyLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return l.real().StandardLogger(opts)
}

func (l *lazyLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return l.real().StandardWriter(opts)
}

var _ hclog.Logger = (*lazyLogger)(nil)
