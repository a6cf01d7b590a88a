package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/clients"
	"github.com/chainsts/chainsts/clients/secrets"
)

func init() { addCommand(newSecretCmd) }

func newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Generate, hash, obfuscate and encrypt secrets for the configuration",
		Long: `Generate, hash, obfuscate and encrypt secrets for the configuration.

Commands that take a secret read it from stdin (a prompt without echo on a
terminal), never from the command line, where it would land in shell history
and process listings:

  printf '%s' "$SECRET" | chainsts secret hash`,
	}
	cmd.AddCommand(newSecretGenerateCmd(), newSecretHashCmd(), newSecretObfuscateCmd(), newSecretEncryptCmd(), newSecretKeygenCmd())
	return cmd
}

func newSecretGenerateCmd() *cobra.Command {
	var configPath, keyFile string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a client secret and its keyed hash",
		Long: `Generate a client secret (256 random bits, 43 unreserved characters) and
print it on the first line and its keyed hash (hmac-sha256:...) on the
second. Give the secret to the client; put the hash in the client's secret:
key. The hash is made under the client hash key: the clients.hash_key of
--config (by default client-secret.key in its data directory, created when
missing), or the key file given with --hash-key-file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var key []byte
			switch {
			case keyFile != "" && configPath != "":
				return errors.New("use --config or --hash-key-file, not both")
			case keyFile != "":
				k, err := secrets.ReadKeyFile(keyFile)
				if err != nil {
					return err
				}
				key = k
			case configPath != "":
				rt, err := loadRuntime(cmd, configPath)
				if err != nil {
					return err
				}
				defer rt.Close()
				a, err := rt.App(clients.AppName)
				if err != nil {
					return err
				}
				ca, ok := a.(*clients.App)
				if !ok {
					return fmt.Errorf("clients app is %T", a)
				}
				if key, err = ca.HashKeyBytes(); err != nil {
					return err
				}
			default:
				return errors.New("--config or --hash-key-file is required: the hash is made under the installation's client hash key")
			}
			s := secrets.Generate()
			fmt.Fprintln(cmd.OutOrStdout(), s)
			fmt.Fprintln(cmd.OutOrStdout(), clients.KeyedHash(key, s))
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration whose client hash key to use")
	cmd.Flags().StringVar(&keyFile, "hash-key-file", "", "client hash key file (base64, mode 0600)")
	return cmd
}

func newSecretHashCmd() *cobra.Command {
	var alg string
	var o clients.HashOptions
	cmd := &cobra.Command{
		Use:   "hash",
		Short: "Hash a secret you chose with bcrypt or argon2id",
		Long: `Hash a secret you chose (read from stdin) with bcrypt (default) or
argon2id, for a client's secret: key. For secrets you do not need to choose,
prefer 'chainsts secret generate': its keyed hash costs microseconds to
check where bcrypt costs tens of milliseconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := readSecret(cmd)
			if err != nil {
				return err
			}
			h, err := clients.HashSecret(clients.Algorithm(alg), s, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&alg, "algorithm", "bcrypt", "bcrypt or argon2id")
	fl.IntVar(&o.BcryptCost, "cost", clients.DefaultBcryptCost, "bcrypt cost")
	fl.Uint32Var(&o.Argon2Memory, "argon2-memory", clients.DefaultArgon2Memory, "argon2id memory in KiB")
	fl.Uint32Var(&o.Argon2Time, "argon2-time", clients.DefaultArgon2Time, "argon2id iterations")
	fl.Uint8Var(&o.Argon2Threads, "argon2-threads", clients.DefaultArgon2Threads, "argon2id parallelism")
	return cmd
}

func newSecretObfuscateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "obfuscate",
		Short: "Obfuscate a secret (OBF:, Jetty's format): hides it from a glance, not from anyone who tries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := readSecret(cmd)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secrets.Obfuscate(s))
			return nil
		},
	}
}

func newSecretEncryptCmd() *cobra.Command {
	var keyFile, dataDir string
	cmd := &cobra.Command{
		Use:   "encrypt",
		Short: "Encrypt a secret (ENC:) under the installation's encryption key",
		Long: `Encrypt a secret (read from stdin) with AES-256-GCM and print an ENC: value.
The key is, in order: --key-file, $CHAINSTS_ENCRYPTION_KEY (base64),
the file named by $CHAINSTS_ENCRYPTION_KEY_FILE, encryption.key in --data-dir.
The server finds it the same way (with the configuration's data directory).
Create a key with 'chainsts secret keygen --out FILE'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var key []byte
			var err error
			if keyFile != "" {
				key, err = secrets.ReadKeyFile(keyFile)
			} else {
				key, _, err = secrets.EncryptionKeySource(nil, dataDir)
			}
			if err != nil {
				return err
			}
			s, err := readSecret(cmd)
			if err != nil {
				return err
			}
			enc, err := secrets.Encrypt(key, s)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), enc)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "encryption key file (base64, mode 0600)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory holding encryption.key")
	return cmd
}

func newSecretKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create a 256-bit key (for ENC: values or clients.hash_key)",
		Long: `Create a random 256-bit key, base64 encoded. With --out, write it to a new
file with mode 0600 (an existing file is never overwritten); otherwise print
it, e.g. to store it in a secret manager and pass it as
$CHAINSTS_ENCRYPTION_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k := secrets.NewKey()
			if out == "" {
				fmt.Fprintln(cmd.OutOrStdout(), secrets.EncodeKey(k))
				return nil
			}
			if err := secrets.WriteKeyFile(out, k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to create")
	return cmd
}

// readSecret reads a secret from stdin: without echo after a prompt on a
// terminal, else everything up to EOF minus one trailing newline.
func readSecret(cmd *cobra.Command) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(cmd.ErrOrStderr(), "secret: ")
		restore := disableEcho(f)
		line, err := bufio.NewReader(f).ReadString('\n')
		restore()
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return checkSecret(strings.TrimRight(line, "\r\n"))
	}
	b, err := io.ReadAll(io.LimitReader(in, 64<<10))
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	return checkSecret(strings.TrimSuffix(s, "\r"))
}

func checkSecret(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty secret on stdin")
	}
	return s, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
