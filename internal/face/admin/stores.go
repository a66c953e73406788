package admin

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/member"
	"kios/internal/payment"
)

// storeRow is a store on the wire.
type storeRow struct {
	ID           int64  `json:"id"`
	Member       string `json:"member"`
	Name         string `json:"name"`
	StaticQRIS   string `json:"static_qris"`
	CallbackURL  string `json:"callback_url"`
	LifetimeSec  int64  `json:"invoice_lifetime_sec"`
	FeeFlat      int64  `json:"fee_flat"`
	FeePercentBP int64  `json:"fee_percent_bp"`
	Sandbox      bool   `json:"sandbox"`
	Active       bool   `json:"active"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

func toStoreRow(st payment.Store, owner string) storeRow {
	return storeRow{ID: st.ID, Member: owner, Name: st.Name, StaticQRIS: st.StaticQRIS, CallbackURL: st.CallbackURL,
		LifetimeSec: int64(st.Lifetime / time.Second), FeeFlat: st.FeeFlat, FeePercentBP: st.FeePercentBP,
		Sandbox: st.Sandbox, Active: st.Active, CreatedAt: wire(st.CreatedAt), UpdatedAt: wire(st.UpdatedAt)}
}

// Stores answers GET /api/admin/stores?member=: members' QRIS stores,
// oldest first, paginated.
func Stores(stores *payment.Stores, members *member.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := parsePage(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		var memberID int64
		if u := q.Get("member"); u != "" {
			m, err := members.ByUsername(r.Context(), u)
			if err != nil {
				writeFault(w, r, logger, fault.Field(fault.CodeOf(err), "member", "no member %q", u))
				return
			}
			memberID = m.ID
		}
		items, total, err := stores.List(r.Context(), memberID, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]storeRow, 0, len(items))
		for _, it := range items {
			rows = append(rows, toStoreRow(it.Store, it.Owner))
		}
		writeJSON(w, newList(rows, p, total))
	})
}

// storeFields are a store's editable fields in a request; nil ones are
// absent.
type storeFields struct {
	Name         *string `json:"name"`
	StaticQRIS   *string `json:"static_qris"`
	CallbackURL  *string `json:"callback_url"`
	LifetimeSec  *int64  `json:"invoice_lifetime_sec"`
	FeeFlat      *int64  `json:"fee_flat"`
	FeePercentBP *int64  `json:"fee_percent_bp"`
	Sandbox      *bool   `json:"sandbox"`
	Active       *bool   `json:"active"`
}

// apply writes the fields given onto set and active.
func (f storeFields) apply(set *payment.Settings, active *bool) {
	if f.Name != nil {
		set.Name = *f.Name
	}
	if f.StaticQRIS != nil {
		set.StaticQRIS = *f.StaticQRIS
	}
	if f.CallbackURL != nil {
		set.CallbackURL = *f.CallbackURL
	}
	if f.LifetimeSec != nil {
		set.Lifetime = time.Duration(*f.LifetimeSec) * time.Second
		if *f.LifetimeSec <= 0 || *f.LifetimeSec > int64(payment.MaxLifetime/time.Second) {
			set.Lifetime = -time.Second // refused by the store's check, with its message
		}
	}
	if f.FeeFlat != nil {
		set.FeeFlat = *f.FeeFlat
	}
	if f.FeePercentBP != nil {
		set.FeePercentBP = *f.FeePercentBP
	}
	if f.Sandbox != nil {
		set.Sandbox = *f.Sandbox
	}
	if f.Active != nil && active != nil {
		*active = *f.Active
	}
}

// CreateStore answers POST /api/admin/stores {member, name, static_qris,
// callback_url, invoice_lifetime_sec, fee_flat, fee_percent_bp, sandbox,
// comment}: a new active store for the member. The static QRIS is
// validated (CRC, fields, static).
func CreateStore(stores *payment.Stores, members *member.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			storeFields
			Member  string `json:"member"`
			Comment string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		if body.Member == "" {
			writeFault(w, r, logger, fault.Field(fault.Missing, "member", "is required: the owner's username"))
			return
		}
		m, err := members.ByUsername(r.Context(), body.Member)
		if err != nil {
			writeFault(w, r, logger, fault.Field(fault.CodeOf(err), "member", "no member %q", body.Member))
			return
		}
		var set payment.Settings
		body.apply(&set, nil)
		op := OperatorFrom(r.Context())
		st, err := stores.AddWith(r.Context(), payment.NewStore{MemberID: m.ID, Name: set.Name, StaticQRIS: set.StaticQRIS,
			CallbackURL: set.CallbackURL, Lifetime: set.Lifetime, FeeFlat: set.FeeFlat, FeePercentBP: set.FeePercentBP,
			Sandbox: set.Sandbox}, func(tx *db.Tx, st payment.Store) error {
			return record(entry(op, now(), "store.create", "store", strconv.FormatInt(st.ID, 10), comment), nil, toStoreRow(st, m.Username))(tx)
		})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toStoreRow(st, m.Username)})
	})
}

// UpdateStore answers PATCH /api/admin/stores/{id} with any of the fields
// of CreateStore (but member) and active; absent fields stay.
func UpdateStore(stores *payment.Stores, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			storeFields
			Comment string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		if body.storeFields == (storeFields{}) {
			writeFault(w, r, logger, fault.New(fault.Missing, "nothing to change"))
			return
		}
		op := OperatorFrom(r.Context())
		var owner string
		st, err := stores.Patch(r.Context(), id, body.apply, func(tx *db.Tx, before, after payment.Store) error {
			if err := tx.QueryRow("SELECT username FROM members WHERE id = ?", after.MemberID).Scan(&owner); err != nil {
				return err
			}
			return record(entry(op, now(), "store.update", "store", strconv.FormatInt(id, 10), comment),
				toStoreRow(before, owner), toStoreRow(after, owner))(tx)
		})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toStoreRow(st, owner)})
	})
}
