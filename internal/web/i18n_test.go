package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestCatalogCoversEveryString: every key a template asks for is in the
// catalog, in both languages, and every entry has both.
func TestCatalogCoversEveryString(t *testing.T) {
	for key, tx := range catalog {
		if strings.TrimSpace(tx.id) == "" || strings.TrimSpace(tx.en) == "" {
			t.Errorf("catalog %q lacks a language: %+v", key, tx)
		}
	}
	keyRE := regexp.MustCompile(`\.T "([^"]+)"`)
	files, _ := fs.Glob(templateFiles, "templates/*.html")
	if len(files) == 0 {
		t.Fatal("no templates")
	}
	n := 0
	for _, f := range files {
		b, _ := fs.ReadFile(templateFiles, f)
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := catalog[m[1]]; !ok {
				t.Errorf("%s asks for %q, which the catalog lacks", f, m[1])
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d strings found in the templates: is the pattern still right?", n)
	}
	for _, status := range []string{"unpaid", "processing", "success", "failed", "refund", "expired", "pending", "delivered"} {
		if _, ok := catalog["status."+status]; !ok {
			t.Errorf("no label for status %s", status)
		}
	}
}
