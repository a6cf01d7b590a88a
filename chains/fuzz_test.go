package chains

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chainsts/chainsts/sts"
)

// FuzzLoadConfig feeds arbitrary bytes to the configuration loader: it must
// report problems, never panic, and leave nothing provisioned after a
// failed load. Seeds: every configuration under testdata/problems and the
// corpus in testdata/fuzz/FuzzLoadConfig.
func FuzzLoadConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/problems/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(basicConfig))
	dataDir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := &problemSet{}
		cfg := parseConfigBytes("fuzz.yaml", data, ps)
		rt, ps := buildConfig(context.Background(), cfg, Options{DataDir: dataDir}, ps)
		for _, p := range ps.sorted() {
			if p.Message == "" || (p.Severity != SeverityError && p.Severity != SeverityWarning) {
				t.Fatalf("malformed problem %+v", p)
			}
		}
		if rt == nil {
			if !ps.hasErrors() {
				t.Fatal("no runtime and no error")
			}
			return
		}
		if ps.hasErrors() {
			t.Fatal("runtime returned despite errors")
		}
		// A short deadline: configurations may tell the test module to
		// sleep, and minimizing a crasher runs thousands of inputs.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		defer cancel()
		_, _ = rt.Run(ctx, &sts.Request{Type: "exchange", AppliesTo: "http://appliesto/stsuu", Issuer: "urn:issuer"})
		if err := rt.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}
