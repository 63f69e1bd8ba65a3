// Command gendoc writes docs/target.md from the target package.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ntx-dev/ntx/engine/target"
)

func main() {
	out := flag.String("o", "docs/target.md", "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, []byte(target.Doc()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
