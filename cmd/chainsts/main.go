// Command chainsts is the chainsts Security Token Service: the server
// (serve), configuration checks (check), running a chain in process (run),
// and the tools around them (secret, list-modules, version). See
// `chainsts --help`.
package main

import (
	"context"
	"os"

	// Every shipped module type and store driver registers itself.
	_ "github.com/chainsts/chainsts/modules/standard"
)

func main() {
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
