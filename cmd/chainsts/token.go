package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/keys"
	"github.com/chainsts/chainsts/sts"
)

func init() { addCommand(newTokenCmd) }

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Decode a JWT for inspection, or sign test JWTs with a key file",
	}
	cmd.AddCommand(newTokenDecodeCmd(), newTokenSignCmd())
	return cmd
}

// readArgOrStdin returns the single argument, or stdin when it is "-" or
// absent, trimmed.
func readArgOrStdin(cmd *cobra.Command, args []string) (string, error) {
	if len(args) == 1 && args[0] != "-" {
		return strings.TrimSpace(args[0]), nil
	}
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
	return strings.TrimSpace(string(b)), err
}

func newTokenDecodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "decode [TOKEN|-]",
		Short: "Print a JWT's header and claims WITHOUT verifying it",
		Long: `Print the header and claims of a compact JWS (or the header of a JWE) as
JSON, WITHOUT verifying anything: use a validate chain (chainsts run) to
verify. The token is read from the argument or stdin.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := readArgOrStdin(cmd, args)
			if err != nil {
				return err
			}
			parts := strings.Split(tok, ".")
			if len(parts) != 3 && len(parts) != 5 {
				return errors.New("not a compact JWS (3 parts) or JWE (5 parts)")
			}
			out := map[string]any{"verified": false, "fingerprint": keys.Fingerprint([]byte(tok))}
			names := []string{"header", "claims"}
			if len(parts) == 5 {
				names = names[:1]
				out["encrypted"] = true
			}
			for i, n := range names {
				raw, err := base64.RawURLEncoding.DecodeString(parts[i])
				if err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
				v, err := sts.ParseJSONValue(raw)
				if err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
				out[n] = v
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

func newTokenSignCmd() *cobra.Command {
	var keyFile, alg, kid, typ string
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "sign --key key.pem [--alg ES256] < claims.json",
		Short: "Sign a JWT from a claims JSON object (for tests and demos)",
		Long: `Sign the claims JSON object read from stdin with the private key in --key
(PEM or JWK; mode 0600) and print the compact JWT. iat and exp (now +
--lifetime) are added when the claims lack them. The kid is the key's RFC
7638 thumbprint unless --kid is given. Meant for tests and demos, e.g. to
make input for a validate chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := keys.CheckPermissions(keyFile); err != nil {
				return err
			}
			lks, err := keys.LoadFile(keyFile)
			if err != nil {
				return err
			}
			if len(lks) != 1 || !lks[0].Secret {
				return errors.New("--key must hold exactly one private key")
			}
			k, err := keys.NewKey(keys.KeyOptions{Key: lks[0].Key, Alg: alg, KID: kid})
			if err != nil {
				return err
			}
			raw, err := readArgOrStdin(cmd, nil)
			if err != nil {
				return err
			}
			v, err := sts.ParseJSONValue([]byte(raw))
			if err != nil {
				return fmt.Errorf("claims: %w", err)
			}
			claims, ok := v.(map[string]any)
			if !ok {
				return errors.New("claims must be a JSON object")
			}
			now := time.Now()
			if _, has := claims["iat"]; !has {
				claims["iat"] = json.Number(fmt.Sprint(now.Unix()))
			}
			if _, has := claims["exp"]; !has {
				claims["exp"] = json.Number(fmt.Sprint(now.Add(lifetime).Unix()))
			}
			hdr := map[string]any{"alg": k.Alg, "kid": k.KID}
			if typ != "" {
				hdr["typ"] = typ
			}
			enc := func(v any) (string, error) {
				var b bytes.Buffer
				e := json.NewEncoder(&b)
				e.SetEscapeHTML(false)
				if err := e.Encode(v); err != nil {
					return "", err
				}
				return base64.RawURLEncoding.EncodeToString(bytes.TrimSpace(b.Bytes())), nil
			}
			h, err := enc(hdr)
			if err != nil {
				return err
			}
			c, err := enc(claims)
			if err != nil {
				return err
			}
			input := h + "." + c
			sig, err := k.Sign([]byte(input))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), input+"."+base64.RawURLEncoding.EncodeToString(sig))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "private key file (PEM or JWK, mode 0600; required)")
	cmd.Flags().StringVar(&alg, "alg", "", "algorithm (default: inferred from the key: ES256/384/512, RS256, EdDSA)")
	cmd.Flags().StringVar(&kid, "kid", "", "kid header (default: RFC 7638 thumbprint)")
	cmd.Flags().StringVar(&typ, "typ", "JWT", "typ header (empty to omit)")
	cmd.Flags().DurationVar(&lifetime, "lifetime", 5*time.Minute, "exp = now + lifetime when the claims have no exp")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}
