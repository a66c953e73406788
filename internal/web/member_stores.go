package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"kios/internal/fault"
	"kios/internal/payment"
)

// storesView is /member/stores.
type storesView struct {
	page
	Stores []storeView
	Form   map[string]string
	// DefaultMinutes is the lifetime a store gets when none is given.
	DefaultMinutes int64
}

type storeView struct {
	ID       int64
	Name     string
	HasQRIS  bool
	Callback string
	Minutes  int64
	Fee      string
	Sandbox  bool
	Active   bool
}

var storesTemplate = parse("member_stores.html")

// StoresPage serves GET /member/stores.
func (h *Dashboard) StoresPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := memberPage(r, "stores", "stores.title")
		h.stores(w, r, p, http.StatusOK, nil)
	})
}

func (h *Dashboard) stores(w http.ResponseWriter, r *http.Request, p page, status int, form map[string]string) {
	m := signedInFrom(r.Context()).member
	p.Path = "/member/stores"
	sts, err := h.d.Stores.ForMember(r.Context(), m.ID)
	if err != nil {
		h.serverError(w, r, p, err)
		return
	}
	v := storesView{page: p, Form: form, DefaultMinutes: int64(payment.DefaultLifetime / time.Minute)}
	for _, st := range sts {
		v.Stores = append(v.Stores, storeView{ID: st.ID, Name: st.Name, HasQRIS: st.StaticQRIS != "", Callback: st.CallbackURL,
			Minutes: int64(st.Lifetime / time.Minute), Fee: fee(st), Sandbox: st.Sandbox, Active: st.Active})
	}
	render(w, r, h.d.Logger, storesTemplate, status, v)
}

// CreateStore serves POST /member/stores: a store with the member's name,
// static QRIS (checked by the payment package), callback URL and invoice
// lifetime. The fee is the operators' to set; a new store has none.
func (h *Dashboard) CreateStore() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m := memberPage(r, "stores", "stores.title")
		form := formValues(r, "name", "static_qris", "callback_url", "lifetime", "sandbox")
		ns := payment.NewStore{MemberID: m.ID, Name: form["name"], StaticQRIS: form["static_qris"],
			CallbackURL: form["callback_url"], Sandbox: form["sandbox"] == "on"}
		var err error
		if s := strings.TrimSpace(form["lifetime"]); s != "" {
			minutes, perr := strconv.ParseInt(s, 10, 64)
			// Only the number is read here; payment.Stores judges the range.
			if perr != nil || minutes < -1<<31 || minutes > 1<<31 {
				err = fault.Field(fault.Invalid, "lifetime", "is not a whole number of minutes")
			}
			ns.Lifetime = time.Duration(minutes) * time.Minute
		}
		if err == nil {
			_, err = h.d.Stores.Add(r.Context(), ns)
		}
		if err != nil {
			h.fail(w, r, p, err, func(p page, status int) { h.stores(w, r, p, status, form) })
			return
		}
		http.Redirect(w, r, "/member/stores?done=store", http.StatusSeeOther)
	})
}
