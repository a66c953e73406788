// Package demo creates the demo member, operator, credentials, catalog and
// store that `kios serve --demo` runs with, and records them in demo.json.
// Running it again reuses whatever still works and replaces only what does
// not.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/payment"
	"kios/internal/token"
)

// The demo's fixed names and funding.
const (
	Username     = "demo"
	Level        = "reseller"
	OperatorName = "admin"
	StoreName    = "Toko Demo"
	StoreCity    = "Jakarta"
	Funding      = 1_000_000 // rupiah
	fundingRef   = "DEMO-FUNDING"
)

// Info is the content of demo.json.
type Info struct {
	BaseURL   string       `json:"base_url"`
	Username  string       `json:"username"`
	Password  string       `json:"password"`
	APIKey    string       `json:"api_key"`
	SecretKey string       `json:"secret_key"`
	StoreID   int64        `json:"store_id,omitempty"`
	Operator  OperatorInfo `json:"operator"`
}

// OperatorInfo is the demo operator in demo.json.
type OperatorInfo struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Token    string `json:"token"`
}

// Deps are the stores the demo uses.
type Deps struct {
	DB        *db.DB
	Members   *member.Store
	Operators *operator.Store
	Catalog   *catalog.Store  // when set, the demo catalog is loaded too
	Stores    *payment.Stores // when set, the demo store is made too
	Now       func() time.Time
}

// Ensure makes the demo data exist and writes it to path (mode 0600). The
// member is funded once, by a ledger entry from system:adjust with the
// reference DEMO-FUNDING.
func Ensure(ctx context.Context, d Deps, path, baseURL string) (Info, error) {
	var old Info
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &old); err != nil {
			return Info{}, fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return Info{}, err
	}
	info := Info{BaseURL: baseURL, Username: Username, StoreID: old.StoreID}

	m, err := ensureMember(ctx, d, old.Password)
	if err != nil {
		return Info{}, err
	}
	info.Password = m.password
	if err := fund(ctx, d, m.member); err != nil {
		return Info{}, err
	}
	info.APIKey, info.SecretKey, err = ensureCredential(ctx, d, m.member, old.APIKey, old.SecretKey)
	if err != nil {
		return Info{}, err
	}
	info.Operator, err = ensureOperator(ctx, d, old.Operator)
	if err != nil {
		return Info{}, err
	}
	if d.Catalog != nil {
		if err := catalog.LoadDemo(ctx, d.Catalog); err != nil {
			return Info{}, fmt.Errorf("demo catalog: %w", err)
		}
		if err := catalog.LoadDemoEwallets(ctx, d.Catalog); err != nil {
			return Info{}, fmt.Errorf("demo e-wallets: %w", err)
		}
	}
	if d.Stores != nil {
		if info.StoreID, err = ensureStore(ctx, d, m.member); err != nil {
			return Info{}, fmt.Errorf("demo store: %w", err)
		}
	}
	return info, write(path, info)
}

// ensureStore returns the demo member's first store, or makes a sandbox
// store with a static QRIS of kios's own making when it has none.
func ensureStore(ctx context.Context, d Deps, m member.Member) (int64, error) {
	stores, err := d.Stores.ForMember(ctx, m.ID)
	if err != nil {
		return 0, err
	}
	if len(stores) > 0 {
		return stores[0].ID, nil
	}
	st, err := d.Stores.Add(ctx, payment.NewStore{MemberID: m.ID, Name: StoreName,
		StaticQRIS: payment.DemoQRIS(StoreName, StoreCity), Sandbox: true})
	return st.ID, err
}

type memberWithPassword struct {
	member   member.Member
	password string
}

func ensureMember(ctx context.Context, d Deps, password string) (memberWithPassword, error) {
	m, err := d.Members.ByUsername(ctx, Username)
	if fault.CodeOf(err) == fault.NotFound {
		pw := token.New(16)
		m, err = d.Members.Add(ctx, member.NewMember{Username: Username, Level: Level, Password: pw})
		return memberWithPassword{m, pw}, err
	}
	if err != nil {
		return memberWithPassword{}, err
	}
	if password != "" {
		if _, err := d.Members.CheckPassword(ctx, Username, password); err == nil {
			return memberWithPassword{m, password}, nil
		}
	}
	pw := token.New(16)
	return memberWithPassword{m, pw}, d.Members.SetPassword(ctx, m.ID, pw)
}

func fund(ctx context.Context, d Deps, m member.Member) error {
	return d.DB.Write(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM entries WHERE reference = ? AND kind = 'adjustment'", fundingRef).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		now := d.Now()
		if err := ledger.EnsureSystem(tx, now); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		_, err = ledger.Post(tx, ledger.Entry{Kind: "adjustment", Reference: fundingRef, Memo: "demo funding",
			Postings: []ledger.Posting{{Account: adj.ID, Amount: -Funding}, {Account: m.AccountID, Amount: Funding}}}, now)
		return err
	})
}

func ensureCredential(ctx context.Context, d Deps, m member.Member, key, secret string) (string, string, error) {
	if key != "" && secret != "" {
		c, owner, err := d.Members.Authenticate(ctx, key)
		if err == nil && owner.ID == m.ID && c.CheckSignature(secret, nil, d.Now()) == nil {
			return key, secret, nil
		}
	}
	is, err := d.Members.CreateCredential(ctx, member.NewCredential{MemberID: m.ID})
	if err != nil {
		return "", "", err
	}
	return is.APIKey, is.SecretKey, nil
}

func ensureOperator(ctx context.Context, d Deps, old OperatorInfo) (OperatorInfo, error) {
	info := OperatorInfo{Username: OperatorName, Password: old.Password, Token: old.Token}
	op, err := d.Operators.ByUsername(ctx, OperatorName)
	switch {
	case fault.CodeOf(err) == fault.NotFound:
		info.Password = token.New(16)
		if op, err = d.Operators.Add(ctx, OperatorName, operator.Admin, info.Password); err != nil {
			return info, err
		}
		info.Token = ""
	case err != nil:
		return info, err
	default:
		if _, err := d.Operators.CheckPassword(ctx, OperatorName, info.Password); info.Password == "" || err != nil {
			info.Password = token.New(16)
			if err := d.Operators.SetPassword(ctx, op.ID, info.Password); err != nil {
				return info, err
			}
		}
	}
	if info.Token != "" {
		if got, err := d.Operators.Authenticate(ctx, info.Token); err == nil && got.ID == op.ID {
			return info, nil
		}
	}
	info.Token, err = d.Operators.IssueToken(ctx, op.ID, "demo")
	return info, err
}

// write stores info at path atomically, readable only by its owner.
func write(path string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
