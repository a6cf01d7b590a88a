package sts

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets check that whatever the parsers accept survives being
// written and read again, in both forms. Seeds: testdata/fuzz/<target>/ (the
// samples under testdata/xml, testdata/json and testdata/malicious).

func FuzzParseXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseXML(data)
		if err != nil {
			return
		}
		checkFuzzRoundTrip(t, u)
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseJSON(data)
		if err != nil {
			return
		}
		checkFuzzRoundTrip(t, u)
	})
}

func checkFuzzRoundTrip(t *testing.T, u *STSUU) {
	x := u.XML()
	ux, err := ParseXML(x)
	if err != nil {
		t.Fatalf("XML output does not parse: %v\n%s", err, x)
	}
	if !ux.Equal(u) {
		t.Fatalf("XML round trip changed the user:\n%s", cmp.Diff(u, ux))
	}
	if x2 := ux.XML(); string(x2) != string(x) {
		t.Fatalf("XML output not stable:\n%s\n%s", x, x2)
	}
	j := u.JSON()
	uj, err := ParseJSON(j)
	if err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, j)
	}
	if !uj.Equal(u) {
		t.Fatalf("JSON round trip changed the user:\n%s", cmp.Diff(u, uj))
	}
	if j2 := uj.JSON(); string(j2) != string(j) {
		t.Fatalf("JSON output not stable:\n%s\n%s", j, j2)
	}
	_ = Diff(u, ux)
}
