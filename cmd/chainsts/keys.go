package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/keys"
)

func init() { addCommand(newKeysCmd) }

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List keystores, print the public JWK Set, generate key files",
	}
	cmd.AddCommand(newKeysListCmd(), newKeysJWKSCmd(), newKeysGenerateCmd())
	return cmd
}

func keystoresApp(cmd *cobra.Command, configPath string) (*keys.App, func(), error) {
	rt, err := loadRuntime(cmd, configPath)
	if err != nil {
		return nil, nil, err
	}
	a, err := rt.App("keystores")
	if err != nil {
		rt.Close()
		return nil, nil, err
	}
	app, ok := a.(*keys.App)
	if !ok {
		rt.Close()
		return nil, nil, fmt.Errorf("keystores app is %T", a)
	}
	return app, func() { rt.Close() }, nil
}

func newKeysListCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every key of every keystore (no key material)",
		Long: `List every key of every keystore: store, label, kid, algorithm, use, what
is held (private key, public key only, secret), whether the store is
published at /jwks.json, and whether chainsts generated the key. Loading
the configuration generates missing dev keys, as serve would.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, done, err := keystoresApp(cmd, configPath)
			if err != nil {
				return err
			}
			defer done()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STORE\tLABEL\tKID\tALG\tUSE\tHOLDS\tPUBLISHED\tGENERATED")
			for _, ks := range app.Keystores() {
				for _, k := range ks.Keys() {
					holds := "public key"
					switch {
					case k.IsSymmetric():
						holds = "secret"
					case k.Signer != nil || k.Private != nil:
						holds = "private key"
					}
					published := ks.Public && !k.IsSymmetric()
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%v\t%v\n", ks.Name, k.Label, k.KID, k.Alg, k.Use, holds, published, k.Generated)
				}
			}
			return tw.Flush()
		},
	}
	addConfigFlag(cmd, &configPath)
	return cmd
}

func newKeysJWKSCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "jwks",
		Short: "Print the JWK Set served at /jwks.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, done, err := keystoresApp(cmd, configPath)
			if err != nil {
				return err
			}
			defer done()
			var out bytes.Buffer
			if err := json.Indent(&out, app.JWKS(), "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err = cmd.OutOrStdout().Write(out.Bytes())
			return err
		},
	}
	addConfigFlag(cmd, &configPath)
	return cmd
}

func newKeysGenerateCmd() *cobra.Command {
	var alg, out string
	var bits int
	cmd := &cobra.Command{
		Use:   "generate --alg ES256 --out keys/signing/es256.pem",
		Short: "Generate a private key file (PKCS#8 PEM, mode 0600) for a keystore directory",
		Long: `Generate a private key for one algorithm and write it as PKCS#8 PEM to a
new file with mode 0600 (an existing file is never overwritten). The key's
kid (its RFC 7638 thumbprint) and public JWK are printed. Put the file in a
keystore directory and bind its label (the file name) to the algorithm in
keystores.stores.<name>.keys when it is not inferred (RS* vs PS*).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var priv any
			var err error
			a, ok := keys.LookupAlgorithm(alg)
			if !ok {
				return fmt.Errorf("unknown algorithm %q (one of %v)", alg, keys.AlgorithmNames())
			}
			switch a.Family {
			case keys.FamilyECDSA:
				priv, err = ecdsa.GenerateKey(a.Curve, rand.Reader)
			case keys.FamilyRSA, keys.FamilyRSAPSS:
				if bits < keys.MinRSABits {
					return fmt.Errorf("--bits must be at least %d", keys.MinRSABits)
				}
				priv, err = rsa.GenerateKey(rand.Reader, bits)
			case keys.FamilyEdDSA:
				_, priv, err = ed25519.GenerateKey(rand.Reader)
			default:
				return errors.New("HMAC secrets are not key files: use `chainsts secret generate` and keystores.stores.<name>.secrets")
			}
			if err != nil {
				return err
			}
			k, err := keys.NewKey(keys.KeyOptions{Key: priv, Alg: alg})
			if err != nil {
				return err
			}
			if err := keys.WritePrivateKeyPEM(out, priv); err != nil {
				return err
			}
			jwk, err := k.PublicJWK()
			if err != nil {
				return err
			}
			b, _ := json.Marshal(jwk)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (mode 0600)\nkid: %s\npublic JWK: %s\n", out, k.KID, b)
			return nil
		},
	}
	cmd.Flags().StringVar(&alg, "alg", "ES256", "algorithm the key is for: ES256, ES384, ES512, RS256..., PS256..., EdDSA")
	cmd.Flags().StringVar(&out, "out", "", "file to create (required)")
	cmd.Flags().IntVar(&bits, "bits", 2048, "RSA modulus size")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
