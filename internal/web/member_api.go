package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kios/internal/fault"
	"kios/internal/member"
)

// recentDeliveries is how many webhook messages the API page lists.
const recentDeliveries = 20

// apiView is /member/api: credentials and the webhook.
type apiView struct {
	page
	Credentials []credentialView
	Issued      *member.Issued // just created: key and secret, shown this once
	WebhookURL  string
	Secret      string // the webhook signing secret, shown once after it is issued
	Deliveries  []deliveryView
	Form        map[string]string
}

type credentialView struct {
	ID         int64
	Hint       string
	AllowIPs   string // one per line
	SignedOnly bool
	Revoked    bool
	Created    string
}

type deliveryView struct {
	ID          int64
	Kind        string
	Reference   string
	Status      string
	StatusLabel string
	Attempts    int
	HTTP        string
	Latency     string
	Answer      string
	At          string
}

var apiTemplate = parse("member_api.html")

// API serves GET /member/api.
func (h *Dashboard) API() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := memberPage(r, "api", "nav.api")
		h.api(w, r, apiView{page: p}, http.StatusOK)
	})
}

// api renders /member/api from v, filling in what the member has.
func (h *Dashboard) api(w http.ResponseWriter, r *http.Request, v apiView, status int) {
	ctx := r.Context()
	m := signedInFrom(ctx).member
	v.Path = "/member/api"
	creds, err := h.d.Members.Credentials(ctx, m.ID)
	if err != nil {
		h.serverError(w, r, v.page, err)
		return
	}
	for i := len(creds) - 1; i >= 0; i-- { // newest first
		c := creds[i]
		ips := make([]string, len(c.AllowIPs))
		for j, p := range c.AllowIPs {
			ips[j] = p.String()
		}
		v.Credentials = append(v.Credentials, credentialView{ID: c.ID, Hint: c.KeyHint, AllowIPs: strings.Join(ips, "\n"),
			SignedOnly: c.SignedOnly, Revoked: c.Revoked, Created: wib(c.CreatedAt)})
	}
	if v.WebhookURL, err = h.d.Hooks.URL(ctx, m.ID); err != nil {
		h.serverError(w, r, v.page, err)
		return
	}
	if v.Form != nil {
		v.WebhookURL = v.Form["url"]
	}
	ds, err := h.d.Hooks.Recent(ctx, m.ID, recentDeliveries)
	if err != nil {
		h.serverError(w, r, v.page, err)
		return
	}
	for _, d := range ds {
		dv := deliveryView{ID: d.ID, Kind: d.Kind, Reference: d.Reference, Status: d.Status,
			StatusLabel: v.T("status." + d.Status), Attempts: d.Attempts, HTTP: "—", Latency: "—", At: wib(d.CreatedAt)}
		if a := d.Last; a != nil {
			if a.HTTPStatus != 0 {
				dv.HTTP = strconv.Itoa(a.HTTPStatus)
			}
			dv.Latency = fmt.Sprintf("%d ms", a.Latency.Round(time.Millisecond).Milliseconds())
			dv.Answer = a.Response
			if a.Error != "" {
				dv.Answer = strings.TrimSpace(a.Error + " " + a.Response)
			}
			dv.At = wib(a.At)
		}
		v.Deliveries = append(v.Deliveries, dv)
	}
	if v.Issued != nil || v.Secret != "" {
		v.CleanURL = "/member/api"
	}
	render(w, r, h.d.Logger, apiTemplate, status, v)
}

// credentialID reads {id} from the path; a malformed one is NotFound.
func credentialID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "no such credential")
	}
	return id, nil
}

// apiAction runs do for the signed-in member and then goes back to the
// API page with notice done, or shows do's error there.
func (h *Dashboard) apiAction(done string, do func(r *http.Request, m member.Member) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m := memberPage(r, "api", "nav.api")
		if err := do(r, m); err != nil {
			h.fail(w, r, p, err, func(p page, status int) { h.api(w, r, apiView{page: p}, status) })
			return
		}
		http.Redirect(w, r, "/member/api?done="+done, http.StatusSeeOther)
	})
}

// CreateCredential serves POST /member/credentials: a new API key and
// secret key, shown on the page it answers with and never again.
func (h *Dashboard) CreateCredential() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m := memberPage(r, "api", "nav.api")
		is, err := h.d.Members.CreateCredential(r.Context(), member.NewCredential{MemberID: m.ID,
			AllowIPs: lines(r.PostFormValue("allow_ips")), SignedOnly: r.PostFormValue("signed_only") == "on"})
		if err != nil {
			h.fail(w, r, p, err, func(p page, status int) {
				h.api(w, r, apiView{page: p}, status)
			})
			return
		}
		h.api(w, r, apiView{page: p, Issued: &is}, http.StatusOK)
	})
}

// lines splits a textarea into its non-empty lines (commas separate too).
func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
}

// RevokeCredential serves POST /member/credentials/{id}/revoke.
func (h *Dashboard) RevokeCredential() http.Handler {
	return h.apiAction("saved", func(r *http.Request, m member.Member) error {
		id, err := credentialID(r)
		if err != nil {
			return err
		}
		return h.d.Members.RevokeCredential(r.Context(), m.ID, id)
	})
}

// SetAllowIPs serves POST /member/credentials/{id}/allow-ips.
func (h *Dashboard) SetAllowIPs() http.Handler {
	return h.apiAction("saved", func(r *http.Request, m member.Member) error {
		id, err := credentialID(r)
		if err != nil {
			return err
		}
		return h.d.Members.SetAllowIPs(r.Context(), m.ID, id, lines(r.PostFormValue("allow_ips")))
	})
}

// SetSignedOnly serves POST /member/credentials/{id}/signed-only; the
// form's signed_only is "on" or absent (off).
func (h *Dashboard) SetSignedOnly() http.Handler {
	return h.apiAction("saved", func(r *http.Request, m member.Member) error {
		id, err := credentialID(r)
		if err != nil {
			return err
		}
		return h.d.Members.SetSignedOnly(r.Context(), m.ID, id, r.PostFormValue("signed_only") == "on")
	})
}

// SetWebhook serves POST /member/webhook: the webhook URL. The first time,
// when the signing secret is issued with it, the answer shows the secret
// once.
func (h *Dashboard) SetWebhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m := memberPage(r, "api", "nav.api")
		ctx := r.Context()
		form := formValues(r, "url")
		had, err := h.d.Hooks.HasEndpoint(ctx, m.ID)
		if err == nil {
			err = h.d.Hooks.SetURL(ctx, m.ID, form["url"])
		}
		if err != nil {
			h.fail(w, r, p, err, func(p page, status int) { h.api(w, r, apiView{page: p, Form: form}, status) })
			return
		}
		if had {
			http.Redirect(w, r, "/member/api?done=webhook", http.StatusSeeOther)
			return
		}
		secret, err := h.d.Hooks.Secret(ctx, m.ID)
		if err != nil {
			h.serverError(w, r, p, err)
			return
		}
		p.Notice = p.T("webhook.saved")
		h.api(w, r, apiView{page: p, Secret: secret}, http.StatusOK)
	})
}

// TestWebhook serves POST /member/webhook/test.
func (h *Dashboard) TestWebhook() http.Handler {
	return h.apiAction("test", func(r *http.Request, m member.Member) error {
		_, err := h.d.Hooks.SendTest(r.Context(), m.ID)
		return err
	})
}

// RotateWebhook serves POST /member/webhook/rotate: a new signing secret,
// shown once on the answer.
func (h *Dashboard) RotateWebhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m := memberPage(r, "api", "nav.api")
		secret, err := h.d.Hooks.RotateSecret(r.Context(), m.ID)
		if err != nil {
			h.fail(w, r, p, err, func(p page, status int) { h.api(w, r, apiView{page: p}, status) })
			return
		}
		h.api(w, r, apiView{page: p, Secret: secret}, http.StatusOK)
	})
}
