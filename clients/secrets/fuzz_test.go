package secrets

import "testing"

// FuzzDeobfuscate checks that malformed OBF: values are refused without a
// panic and that Obfuscate's output always decodes to its input.
func FuzzDeobfuscate(f *testing.F) {
	f.Add("OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v", "password")
	f.Add("OBF:U0000", "é")
	f.Add("OBF:", "")
	f.Fuzz(func(t *testing.T, obf, plain string) {
		_, _ = Deobfuscate(obf)
		got, err := Deobfuscate(Obfuscate(plain))
		if err != nil || got != plain {
			t.Fatalf("round trip %q = %q, %v", plain, got, err)
		}
	})
}
