package chains

import (
	"errors"
	"fmt"
	"sort"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// problemSet collects the problems of one load, so that a configuration
// with several mistakes reports all of them at once.
type problemSet struct {
	list []Problem
	// fileOrder ranks files for sorting: the order they were read in.
	fileOrder map[string]int
}

func (ps *problemSet) add(sev Severity, file string, n ast.Node, path, format string, args ...any) {
	line, col := nodePos(n)
	ps.addAt(sev, file, line, col, path, format, args...)
}

func (ps *problemSet) addAt(sev Severity, file string, line, col int, path, format string, args ...any) {
	ps.list = append(ps.list, Problem{
		Severity: sev,
		File:     file,
		Line:     line,
		Column:   col,
		Path:     path,
		Message:  fmt.Sprintf(format, args...),
	})
}

// addYAMLError reports an error from the YAML parser with its position.
func (ps *problemSet) addYAMLError(file string, err error, path string) {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		line, col := tokenPos(ye.GetToken())
		ps.addAt(SeverityError, file, line, col, "", "%s", ye.GetMessage())
		return
	}
	ps.addAt(SeverityError, file, 0, 0, path, "%v", err)
}

func (ps *problemSet) hasErrors() bool {
	for _, p := range ps.list {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// sorted returns the problems in file order (files as read, then line and
// column), errors before warnings at the same place, duplicates removed.
func (ps *problemSet) sorted() []Problem {
	out := append([]Problem(nil), ps.list...)
	rank := func(f string) int {
		if r, ok := ps.fileOrder[f]; ok {
			return r
		}
		return -1
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := rank(a.File), rank(b.File); ra != rb {
			return ra < rb
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Severity == SeverityError && b.Severity != SeverityError
	})
	var dedup []Problem
	for _, p := range out {
		if n := len(dedup); n > 0 && dedup[n-1] == p {
			continue
		}
		dedup = append(dedup, p)
	}
	return dedup
}
