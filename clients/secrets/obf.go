package secrets

import (
	"errors"
	"strconv"
	"strings"
)

// ObfuscatedPrefix starts an obfuscated value.
const ObfuscatedPrefix = "OBF:"

// Obfuscate returns v in Jetty's OBF: format, which operators of Java
// servers already know. Obfuscation is reversible by anyone with this code:
// it keeps a secret from being read over a shoulder or grepped for, and
// protects it from nothing else. Prefer ENC: or a reference.
func Obfuscate(v string) string {
	b := []byte(v)
	var sb strings.Builder
	sb.WriteString(ObfuscatedPrefix)
	for i := range b {
		b1, b2 := b[i], b[len(b)-(i+1)]
		if b1 >= 0x80 || b2 >= 0x80 {
			x := strconv.FormatInt(int64(b1)*256+int64(b2), 36)
			sb.WriteString("U0000"[:5-len(x)])
			sb.WriteString(x)
			continue
		}
		i1 := 127 + int64(b1) + int64(b2)
		i2 := 127 + int64(b1) - int64(b2)
		x := strconv.FormatInt(i1*256+i2, 36)
		sb.WriteString("000"[:4-len(x)])
		sb.WriteString(x)
	}
	return sb.String()
}

var errBadObfuscated = errors.New("malformed OBF: value")

// Deobfuscate reverses Obfuscate.
func Deobfuscate(v string) (string, error) {
	s, ok := strings.CutPrefix(v, ObfuscatedPrefix)
	if !ok {
		return "", errBadObfuscated
	}
	out := make([]byte, 0, len(s)/4)
	for i := 0; i < len(s); i += 4 {
		wide := s[i] == 'U'
		if wide {
			i++
		}
		if i+4 > len(s) {
			return "", errBadObfuscated
		}
		n, err := strconv.ParseInt(s[i:i+4], 36, 64)
		if err != nil || n < 0 {
			return "", errBadObfuscated
		}
		if wide {
			out = append(out, byte(n>>8))
			continue
		}
		i1, i2 := n/256, n%256
		c := (i1 + i2 - 254) / 2
		if c < 0 || c > 127 {
			return "", errBadObfuscated
		}
		out = append(out, byte(c))
	}
	return string(out), nil
}
