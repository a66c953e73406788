package payment

import (
	"bytes"
	"encoding/json"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
	"unicode/utf8"
)

// parse runs parseFields on body sent with the given Content-Type ("" for
// none) and no query string.
func parse(contentType string, body []byte) (fields, error) {
	r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/api/create_payment.php"}, Header: http.Header{}}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return parseFields(r, body)
}

// multipartBody returns fs as a multipart/form-data body and its
// Content-Type.
func multipartBody(t *testing.T, fs map[string]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fs {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

// TestParseFieldsShapes: the request shapes of the reference's curl, PHP
// and Node fetch examples, and the refusals, give the fields the handlers
// read, or an error.
func TestParseFieldsShapes(t *testing.T) {
	want := map[string]string{"store_id": "1", "amount": "10000", "description": "Pembayaran #1"}
	mpCT, mpBody := multipartBody(t, want)
	cases := []struct {
		name, ct, body string
		want           map[string]string
		fieldType      string // the errFieldType expected, if any
		fails          bool
	}{
		{"form", "application/x-www-form-urlencoded", "store_id=1&amount=10000&description=Pembayaran+%231", want, "", false},
		{"form, first value wins", "application/x-www-form-urlencoded", "store_id=1&amount=10000&amount=5&description=Pembayaran+%231", want, "", false},
		{"multipart", mpCT, string(mpBody), want, "", false},
		{"json", "application/json", `{"store_id":1,"amount":10000,"description":"Pembayaran #1"}`, want, "", false},
		{"json without content type", "", ` {"store_id":"1","amount":"10000","description":"Pembayaran #1","x":[1]}`, want, "", false},
		{"json null is absent", "application/json; charset=utf-8", `{"store_id":1,"amount":10000,"description":"Pembayaran #1","customer_name":null}`, want, "", false},
		{"empty body", "application/json", "  \n", map[string]string{}, "", false},
		{"json known field as object", "application/json", `{"amount":{"v":1}}`, nil, "amount", true},
		{"json trailing data", "application/json", `{"amount":1}{}`, nil, "", true},
		{"json not an object", "application/json", `[1,2]`, nil, "", true},
		{"multipart without boundary", "multipart/form-data", "--x\r\n", nil, "", true},
		{"form with semicolon", "application/x-www-form-urlencoded", "a=1;b=2", nil, "", true},
		{"form with bad escape", "", "amount=%zz", nil, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parse(c.ct, []byte(c.body))
			if c.fails {
				if err == nil {
					t.Fatalf("parsed to %v, want an error", f.body)
				}
				ft, ok := err.(errFieldType)
				if ok != (c.fieldType != "") || ft.field != c.fieldType {
					t.Fatalf("error %v, want field type error %q", err, c.fieldType)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(f.body, c.want) {
				t.Fatalf("fields %v, want %v", f.body, c.want)
			}
		})
	}
}

// plainNames reports whether every field name is non-empty printable
// ASCII: what a multipart Content-Disposition header carries as it is (a
// part without a name is not a form field).
func plainNames(m map[string]string) bool {
	for k := range m {
		if k == "" {
			return false
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x20 || k[i] > 0x7e {
				return false
			}
		}
	}
	return true
}

// FuzzParseFields checks that parseFields never panics, whatever the body
// and Content-Type, and that whatever it accepts re-parses to the same
// fields once written back as a url-encoded form, as a form without a
// Content-Type, as multipart (when the names are non-empty printable ASCII) and, when every field is valid UTF-8 (JSON
// cannot carry anything else), as a JSON object. The seed corpus in
// testdata/fuzz/FuzzParseFields holds the reference's request shapes.
func FuzzParseFields(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("store_id=1&amount=10000&description=Pembayaran+produk"))
	f.Add("application/json", []byte(`{"store_id":1,"amount":10000,"customer_name":"Budi"}`))
	f.Add("", []byte(`{"store_id":"1","amount":1e4}`))
	f.Add("multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n10000\r\n--X--\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		fs, err := parse(contentType, body)
		if err != nil {
			return
		}
		form := url.Values{}
		for k, v := range fs.body {
			form.Set(k, v)
		}
		enc := []byte(form.Encode())
		for _, ct := range []string{"application/x-www-form-urlencoded", ""} {
			again, err := parse(ct, enc)
			if err != nil || !maps.Equal(again.body, fs.body) {
				t.Fatalf("%q as %q = %v, %v; re-encoded as form %q (Content-Type %q): %v, %v",
					body, contentType, fs.body, err, enc, ct, again.body, err)
			}
		}
		if plainNames(fs.body) {
			ct, mp := multipartBody(t, fs.body)
			if again, err := parse(ct, mp); err != nil || !maps.Equal(again.body, fs.body) {
				t.Fatalf("%q as %q = %v; re-encoded as multipart %q: %v, %v", body, contentType, fs.body, mp, again.body, err)
			}
		}
		utf8Only := true
		for k, v := range fs.body {
			utf8Only = utf8Only && utf8.ValidString(k) && utf8.ValidString(v)
		}
		if !utf8Only {
			return
		}
		js, err := json.Marshal(fs.body)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := parse("application/json", js); err != nil || !maps.Equal(again.body, fs.body) {
			t.Fatalf("%q as %q = %v; re-encoded as JSON %s: %v, %v", body, contentType, fs.body, js, again.body, err)
		}
	})
}
