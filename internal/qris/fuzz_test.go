package qris

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// an *Error of kind ErrSyntax, and that every input it accepts is rebuilt
// exactly by Encode, templates included. It also runs Validate and, on a
// valid static payload, ToDynamic, which must not panic either. The seed
// corpus in testdata/fuzz/FuzzParse holds the vectors of design/qris.md.
func FuzzParse(f *testing.F) {
	for _, c := range validPayloads {
		f.Add(c.in)
	}
	for _, c := range invalidPayloads {
		f.Add(c.in)
	}
	for _, c := range parseErrors {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != ErrSyntax {
				t.Fatalf("Parse(%q) = %v, want an *Error of kind ErrSyntax", s, err)
			}
		} else {
			out, err := p.Encode()
			if err != nil || out != s {
				t.Fatalf("Encode(Parse(%q)) = %q, %v", s, out, err)
			}
			for _, f := range p {
				sub, err := Parse(f.Value)
				if err != nil {
					continue
				}
				if out, err := sub.Encode(); err != nil || out != f.Value {
					t.Fatalf("template %s of %q: Encode(Parse(%q)) = %q, %v", f.Tag, s, f.Value, out, err)
				}
			}
		}

		err = Validate(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%q) = %v, want an *Error", s, err)
			}
			return
		}
		if p[0].Tag != TagFormat || p[len(p)-1].Tag != TagCRC || VerifyCRC(s) != nil {
			t.Fatalf("Validate accepted %q", s)
		}
		if !p.IsStatic() {
			if _, err := ToDynamic(s, 1); !errors.Is(err, ErrNotStatic) {
				t.Fatalf("ToDynamic of dynamic %q = %v, want ErrNotStatic", s, err)
			}
			return
		}
		out, err := ToDynamic(s, 1)
		if errors.Is(err, ErrTooLong) {
			return
		}
		if err != nil {
			t.Fatalf("ToDynamic of valid static %q: %v", s, err)
		}
		checkDynamic(t, s, 1, Tip{}, out)
	})
}

// FuzzToDynamic checks that ToDynamicWithTip either refuses with an *Error
// or returns a payload that passes Validate, is dynamic and carries the
// amount and tip it was given.
func FuzzToDynamic(f *testing.F) {
	for _, v := range payloadVectors {
		f.Add(v.static, v.amount, string(v.tip.Kind), v.tip.Fixed, v.tip.Percent)
		f.Add(v.dynamic, v.amount, "", int64(0), "")
	}
	f.Add(static1, int64(MaxAmount), "03", int64(0), "2.5")
	f.Add(static1, int64(-1), "01", int64(0), "")
	f.Add(mutate(static1, set("59", trap)), int64(10387), "02", int64(1), "")
	f.Fuzz(func(t *testing.T, static string, amount int64, kind string, fixed int64, percent string) {
		tip := Tip{Kind: TipKind(kind), Fixed: fixed, Percent: percent}
		out, err := ToDynamicWithTip(static, amount, tip)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || out != "" {
				t.Fatalf("ToDynamicWithTip = %q, %v; want \"\" and an *Error", out, err)
			}
			return
		}
		checkDynamic(t, static, amount, tip, out)
	})
}

// TestFuzzCorpus checks that the seed corpus of FuzzParse holds every
// payload and CRC input of design/qris.md.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(dir, file.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s is not a go test fuzz v1 file with one string", file.Name())
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", file.Name(), err)
		}
		have[s] = true
	}
	want := []string{}
	for _, c := range crcVectors {
		want = append(want, c.in)
	}
	for _, v := range payloadVectors {
		want = append(want, v.static, v.dynamic)
	}
	for _, s := range want {
		if !have[s] {
			t.Errorf("seed corpus lacks %q", s)
		}
	}
}

// FuzzTemplate checks that a Template gives exactly what ToDynamic gives,
// payload or error, for any static payload and amount.
func FuzzTemplate(f *testing.F) {
	for _, v := range payloadVectors {
		f.Add(v.static, v.amount)
		f.Add(v.dynamic, v.amount)
	}
	f.Add(static1, int64(MaxAmount))
	f.Add(static1, int64(0))
	f.Add(mutate(static1, grow(MaxLen-len(static1)-24)), int64(1))
	f.Fuzz(func(t *testing.T, static string, amount int64) {
		want, wantErr := ToDynamic(static, amount)
		tpl, err := NewTemplate(static)
		if err != nil {
			if _, err1 := ToDynamic(static, 1); err1 == nil || err.Error() != err1.Error() {
				t.Fatalf("NewTemplate(%q) = %v; ToDynamic(…, 1) = %v", static, err, err1)
			}
			return
		}
		got, gotErr := tpl.Dynamic(amount)
		if got != want || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("Template(%q).Dynamic(%d) = %q, %v; ToDynamic = %q, %v", static, amount, got, gotErr, want, wantErr)
		}
	})
}
