package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

	"github.com/goccy/go-yaml"
	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/chains"
)

// ReadLogging reads the `logging` section of the configuration at path (a
// file or a directory of *.yaml / *.yml files) leniently, before the
// configuration is loaded, so the logger that reports the load already has
// the configured format. Problems are ignored here and reported by the
// strict load; the defaults stand in.
func ReadLogging(path string) *Logging {
	out := &Logging{Level: "info", Format: "text"}
	files, _ := chains.ConfigFiles(path)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var doc struct {
			Logging *Logging `yaml:"logging"`
		}
		if yaml.Unmarshal(b, &doc) != nil || doc.Logging == nil {
			continue
		}
		if doc.Logging.Level != "" {
			out.Level = doc.Logging.Level
		}
		if doc.Logging.Format != "" {
			out.Format = doc.Logging.Format
		}
	}
	return out
}

// NewLogger returns the process logger for the settings, writing to w.
func NewLogger(l *Logging, w io.Writer) hclog.Logger {
	level := hclog.LevelFromString(l.Level)
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "chainsts",
		Level:      level,
		Output:     w,
		JSONFormat: l.Format == "json",
	})
}

// Fingerprint identifies a token (or any secret) in logs without revealing
// it: the first 12 hex digits of its SHA-256.
func Fingerprint(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:6])
}
