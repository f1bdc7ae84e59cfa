// Command entralake turns Microsoft Entra ID (Azure AD) audit and sign-in
// log exports into a Parquet lake. Run `entralake --help`.
package main

import (
	"os"

	"github.com/entralake/entralake/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
