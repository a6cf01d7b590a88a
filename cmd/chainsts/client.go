package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/clients/secrets"
	"github.com/chainsts/chainsts/store"
)

func init() { addCommand(newClientCmd) }

func newClientCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Manage OAuth clients kept in the store (created at run time)",
		Long: `Create, list and delete OAuth clients kept in the store rather than in the
configuration. A running server sees a change at the next request, on every
node that shares the store; clients in the configuration cannot be changed
here.`,
	}
	cmd.AddCommand(newClientCreateCmd(), newClientListCmd(), newClientDeleteCmd())
	return cmd
}

// clientStore loads the configuration and returns its clients app and
// store.
func clientStore(cmd *cobra.Command, configPath string) (*chains.Runtime, *clients.App, store.Store, error) {
	rt, err := loadRuntime(cmd, configPath)
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := rt.App(clients.AppName)
	if err != nil {
		rt.Close()
		return nil, nil, nil, err
	}
	ca, ok := a.(*clients.App)
	if !ok {
		rt.Close()
		return nil, nil, nil, fmt.Errorf("clients app is %T", a)
	}
	sa, err := rt.App("store")
	if err != nil {
		rt.Close()
		return nil, nil, nil, err
	}
	st, ok := sa.(store.Store)
	if !ok {
		rt.Close()
		return nil, nil, nil, fmt.Errorf("store app is %T", sa)
	}
	return rt, ca, st, nil
}

func newClientCreateCmd() *cobra.Command {
	var (
		configPath                   string
		c                            clients.Client
		grantTypes, scopes, audience []string
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a client; for secret methods, print its generated secret once",
		Long: `Create a client in the store. For client_secret_basic and client_secret_post
a secret of 256 random bits is generated and printed once on stdout; the
store keeps only its keyed hash. private_key_jwt clients register their keys
with --jwks-uri (or --jwks / --certificate, inline or @file).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.ID == "" {
				return errors.New("--id is required")
			}
			rt, ca, st, err := clientStore(cmd, configPath)
			if err != nil {
				return err
			}
			defer rt.Close()
			c.GrantTypes, c.Scopes, c.Audiences = grantTypes, scopes, audience
			secret := ""
			switch c.AuthMethod {
			case "", clients.MethodBasic, clients.MethodPost:
				key, err := ca.HashKeyBytes()
				if err != nil {
					return err
				}
				secret = secrets.Generate()
				c.Secret = clients.KeyedHash(key, secret)
			}
			src := &clients.StoreSource{Store: st, App: ca}
			if err := src.Create(context.WithoutCancel(cmd.Context()), &c); err != nil {
				return err
			}
			if secret != "" {
				fmt.Fprintln(cmd.OutOrStdout(), secret)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "client %q created (%s)\n", c.ID, c.AuthMethod)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "configuration whose store to use (required)")
	_ = cmd.MarkFlagRequired("config")
	f.StringVar(&c.ID, "id", "", "client id")
	f.StringVar(&c.Name, "name", "", "display name")
	f.StringVar(&c.AuthMethod, "auth-method", clients.MethodBasic, "client_secret_basic, client_secret_post, private_key_jwt or none")
	f.StringSliceVar(&grantTypes, "grant-type", nil, "allowed grant type, repeatable (default: every grant the server serves)")
	f.StringSliceVar(&scopes, "scope", nil, "allowed scope, repeatable")
	f.StringSliceVar(&audience, "audience", nil, "allowed audience or resource, repeatable")
	f.StringVar(&c.AccessTokenFormat, "access-token-format", "", "jwt (default) or opaque")
	f.DurationVar(&c.AccessTokenLifetime, "access-token-lifetime", 0, "access token lifetime override")
	f.StringVar(&c.JWKSURI, "jwks-uri", "", "private_key_jwt: the client's JWK Set URL")
	f.StringVar(&c.JWKS, "jwks", "", "private_key_jwt: the client's JWK Set (inline JSON or @file)")
	f.StringVar(&c.Certificate, "certificate", "", "private_key_jwt: the client's certificate (inline PEM or @file)")
	return cmd
}

func newClientListCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the clients kept in the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, _, st, err := clientStore(cmd, configPath)
			if err != nil {
				return err
			}
			defer rt.Close()
			recs, err := st.ListClients(cmd.Context())
			if err != nil {
				return err
			}
			for _, r := range recs {
				c, err := clients.DecodeClient(r.Data)
				if err != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t(unreadable: %v)\n", r.ID, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\tgrants=%s\tscopes=%s\tcreated=%s\n", c.ID, c.AuthMethod,
					strings.Join(c.GrantTypes, ","), strings.Join(c.Scopes, ","), r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration whose store to use (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func newClientDeleteCmd() *cobra.Command {
	var configPath, id string
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a client kept in the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return errors.New("--id is required")
			}
			rt, _, st, err := clientStore(cmd, configPath)
			if err != nil {
				return err
			}
			defer rt.Close()
			if err := st.DeleteClient(cmd.Context(), id); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no client %q in the store", id)
				}
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "client %q deleted\n", id)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration whose store to use (required)")
	_ = cmd.MarkFlagRequired("config")
	cmd.Flags().StringVar(&id, "id", "", "client id")
	return cmd
}
