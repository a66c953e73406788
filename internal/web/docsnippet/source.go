package docsnippet

import (
	_ "embed"
	"strings"
)

//go:embed verify.go
var source string

// Source is the receiver's code as /docs shows it: verify.go from its
// imports on, without the package's own comment.
func Source() string {
	i := strings.Index(source, "import (")
	return "package main\n\n" + source[i:]
}
