package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/keys"
	// The OAuth endpoints (the oauth app and module) and the store
	// backends register themselves.
	_ "github.com/chainsts/chainsts/oauth"
	_ "github.com/chainsts/chainsts/store/memory"
	_ "github.com/chainsts/chainsts/store/sqlite"
)

func init() { addCommand(newAssertionCmd) }

func newAssertionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assertion",
		Short: "Work with JWT assertions (RFC 7523)",
	}
	cmd.AddCommand(newAssertionMintCmd())
	return cmd
}

func newAssertionMintCmd() *cobra.Command {
	var (
		configPath, keystore, label, keyFile, alg, kid string
		iss, sub, typ                                  string
		aud, claims                                    []string
		lifetime                                       time.Duration
		noJTI                                          bool
	)
	cmd := &cobra.Command{
		Use:   "mint",
		Short: "Sign a test JWT: a JWT bearer assertion, a client assertion, or a subject token",
		Long: `Sign a JWT with a key of a keystore in the configuration (--config with
--keystore and optionally --label) or with a private key file (--key), and
print it. Use it to try the JWT bearer grant (an assertion from a trusted
issuer), private_key_jwt client authentication (--iss and --sub set to the
client id), or token exchange (a subject token from an external issuer).

The token gets iss, sub, aud, iat, exp and a random jti; --claim adds more
(name=value, the value parsed as JSON when it is valid JSON, else a string).`,
		Example: `  chainsts assertion mint -c examples/quickstart --keystore external-idp \
      --iss https://idp.example.com --sub user-42 --aud http://127.0.0.1:8080/oauth2/token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := mintKey(cmd, configPath, keystore, label, keyFile, alg, kid)
			if err != nil {
				return err
			}
			now := time.Now()
			c := map[string]any{"iat": now.Unix(), "exp": now.Add(lifetime).Unix()}
			if iss != "" {
				c["iss"] = iss
			}
			if sub != "" {
				c["sub"] = sub
			}
			switch len(aud) {
			case 0:
			case 1:
				c["aud"] = aud[0]
			default:
				c["aud"] = aud
			}
			if !noJTI {
				b := make([]byte, 18)
				if _, err := rand.Read(b); err != nil {
					return err
				}
				c["jti"] = base64.RawURLEncoding.EncodeToString(b)
			}
			for _, kv := range claims {
				name, val, ok := strings.Cut(kv, "=")
				if !ok || name == "" {
					return fmt.Errorf("--claim %q: want name=value", kv)
				}
				var v any
				if err := json.Unmarshal([]byte(val), &v); err != nil {
					v = val
				}
				c[name] = v
			}
			tok, err := signJWT(key, typ, c)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "configuration whose keystores hold the signing key")
	f.StringVar(&keystore, "keystore", "", "keystore to sign with (needs --config)")
	f.StringVar(&label, "label", "", "key label in the keystore (default: its first signing key for --alg)")
	f.StringVar(&keyFile, "key", "", "private key file (PEM or JWK) to sign with instead of a keystore")
	f.StringVar(&alg, "alg", "ES256", "signing algorithm")
	f.StringVar(&kid, "kid", "", "kid header (default: the key's kid)")
	f.StringVar(&iss, "iss", "", "issuer (iss)")
	f.StringVar(&sub, "sub", "", "subject (sub)")
	f.StringSliceVar(&aud, "aud", nil, "audience (aud), repeatable")
	f.StringVar(&typ, "typ", "JWT", "typ header (empty to omit)")
	f.DurationVar(&lifetime, "lifetime", 5*time.Minute, "time until exp")
	f.StringArrayVar(&claims, "claim", nil, "extra claim name=value (value as JSON when it parses), repeatable")
	f.BoolVar(&noJTI, "no-jti", false, "leave out jti")
	return cmd
}

// mintKey finds the signing key: a keystore of the configuration or a key
// file.
func mintKey(cmd *cobra.Command, configPath, keystore, label, keyFile, alg, kid string) (*keys.Key, error) {
	var k *keys.Key
	switch {
	case keyFile != "" && keystore != "":
		return nil, errors.New("use either --key or --keystore")
	case keyFile != "":
		loaded, err := keys.LoadFile(keyFile)
		if err != nil {
			return nil, err
		}
		if len(loaded) == 0 {
			return nil, fmt.Errorf("%s holds no key", keyFile)
		}
		if k, err = keys.NewKey(keys.KeyOptions{Key: loaded[0].Key, Alg: alg, KID: loaded[0].KID}); err != nil {
			return nil, err
		}
	case keystore != "":
		if configPath == "" {
			return nil, errors.New("--keystore needs --config")
		}
		rt, err := loadRuntime(cmd, configPath)
		if err != nil {
			return nil, err
		}
		defer rt.Close()
		a, err := rt.App("keystores")
		if err != nil {
			return nil, err
		}
		app, ok := a.(*keys.App)
		if !ok {
			return nil, fmt.Errorf("keystores app is %T", a)
		}
		ks, ok := app.Keystore(keystore)
		if !ok {
			return nil, fmt.Errorf("no keystore %q", keystore)
		}
		if label != "" {
			if k, ok = ks.Key(label); !ok {
				return nil, fmt.Errorf("keystore %q has no key %q", keystore, label)
			}
		} else if k = ks.SigningKey(alg); k == nil {
			return nil, fmt.Errorf("keystore %q has no signing key for %s", keystore, alg)
		}
	default:
		return nil, errors.New("give --keystore (with --config) or --key")
	}
	if !k.CanSign() {
		return nil, fmt.Errorf("key %s cannot sign", k)
	}
	if kid != "" {
		c := *k
		c.KID = kid
		k = &c
	}
	return k, nil
}

func signJWT(k *keys.Key, typ string, claims map[string]any) (string, error) {
	hdr := map[string]any{"alg": k.Alg}
	if k.KID != "" {
		hdr["kid"] = k.KID
	}
	if typ != "" {
		hdr["typ"] = typ
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sig, err := k.Sign([]byte(in))
	if err != nil {
		return "", err
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
