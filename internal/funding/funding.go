// Package funding keeps the money members bring in and take out: deposits
// through the platform's bank accounts and QRIS, each with a unique code so
// that incoming money can be matched to it, and withdrawals held from the
// balance until an operator pays them out or returns them.
//
// Every change of status is one guarded update (… WHERE status = 'unpaid'
// or 'processing'), so that two concurrent decisions on one deposit or
// withdrawal move money once: the loser gets a fault.Conflict. Money moves
// only through the ledger, in the same db.Write as the status change:
//
//	deposit confirmed    world:bank:<channel> → member      kind "deposit"
//	withdrawal created   member → system:payout              kind "withdrawal"
//	withdrawal accepted  system:payout → world:bank:<bank>   kind "payout"
//	withdrawal rejected  system:payout → member              kind "withdrawal_return"
//
// Every status is also recorded in funding_status with its time and actor.
// Every end a member did not cause themselves — a deposit confirmed
// (success), rejected or expired (expired), a withdrawal accepted (success)
// or rejected (failed) — writes a transaction_status webhook to the outbox
// in the same transaction (see notify).
package funding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
)

// Statuses of deposits and withdrawals, as the prepaid face names them.
const (
	Unpaid     = "unpaid"     // deposit waiting for money
	Processing = "processing" // withdrawal waiting for an operator
	Success    = "success"
	Failed     = "failed"  // withdrawal rejected, amount returned
	Expired    = "expired" // deposit not paid in time, or rejected by an operator
)

// Types of funding transactions.
const (
	TypeDeposit  = "deposit"
	TypeWithdraw = "withdraw"
)

// QRIS is the built-in deposit channel paid by scanning the platform's QRIS.
const QRIS = "qris"

// Defaults of Options.
const (
	DefaultMinDeposit      = 10_000
	DefaultMaxDeposit      = 10_000_000
	DefaultDepositLifetime = 24 * time.Hour
	DefaultExpiredGrace    = time.Hour
	DefaultDepositPrefix   = "DEP"
	DefaultWithdrawPrefix  = "WD"
)

// Limits of the unique code added to a deposit's amount.
const (
	MinCode = 1
	MaxCode = 999
)

// partnerWindow is how long a withdrawal's partner_reference stays bound
// to it.
const partnerWindow = 24 * time.Hour

// Options configure a Service. The zero value gives the defaults.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MinDeposit and MaxDeposit bound a deposit's amount, in rupiah.
	MinDeposit, MaxDeposit int64
	// DepositLifetime is how long a deposit waits for its money.
	DepositLifetime time.Duration
	// ExpiredGrace is how long the price of a deposit that stopped being
	// open (expired or rejected) is kept out of new deposits on its
	// channel, so that a late payment of it cannot match someone else's.
	// Zero means DefaultExpiredGrace; negative means none.
	ExpiredGrace time.Duration
	// DepositPrefix and WithdrawPrefix start the references.
	DepositPrefix, WithdrawPrefix string
	// PickCode chooses a unique code among the free ones (sorted, never
	// empty). Nil picks one uniformly at random; tests fix it.
	PickCode func(free []int64) int64
	// Logger receives the expiry worker's errors (slog.Default when nil).
	Logger *slog.Logger
	// Notify, when set, is called after a commit that wrote a
	// transaction_status webhook to the outbox (the webhook worker's
	// Poke), so that it is sent at once rather than at the next poll.
	Notify func()
}

// Service runs deposits and withdrawals on a database.
type Service struct {
	db  *db.DB
	opt Options
}

// New returns a Service on d.
func New(d *db.DB, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MinDeposit <= 0 {
		opt.MinDeposit = DefaultMinDeposit
	}
	if opt.MaxDeposit <= 0 {
		opt.MaxDeposit = DefaultMaxDeposit
	}
	if opt.DepositLifetime <= 0 {
		opt.DepositLifetime = DefaultDepositLifetime
	}
	if opt.ExpiredGrace < 0 {
		opt.ExpiredGrace = 0
	} else if opt.ExpiredGrace == 0 {
		opt.ExpiredGrace = DefaultExpiredGrace
	}
	if opt.DepositPrefix == "" {
		opt.DepositPrefix = DefaultDepositPrefix
	}
	if opt.WithdrawPrefix == "" {
		opt.WithdrawPrefix = DefaultWithdrawPrefix
	}
	if opt.PickCode == nil {
		opt.PickCode = func(free []int64) int64 { return free[rand.IntN(len(free))] }
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Service{db: d, opt: opt}
}

// clock returns the current time as it is stored: UTC, in microseconds.
func (s *Service) clock() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// Limits returns the smallest and largest deposit amount.
func (s *Service) Limits() (min, max int64) { return s.opt.MinDeposit, s.opt.MaxDeposit }

// Owns reports whether reference has the shape of a deposit's or a
// withdrawal's, so that a status lookup knows to ask this package.
func (s *Service) Owns(reference string) bool {
	return strings.HasPrefix(reference, s.opt.DepositPrefix) || strings.HasPrefix(reference, s.opt.WithdrawPrefix)
}

// Bank is one of the platform's destination accounts for deposits.
type Bank struct {
	Code          string // "bca", "bni", "bri", "mandiri", …
	Name          string // "Bank BCA"
	AccountNumber string
	AccountName   string // the account holder
	Active        bool
}

// knownBanks are the banks whose display names kios knows; members may
// withdraw to these whether or not the platform receives deposits there.
var knownBanks = map[string]string{
	"bca":     "Bank BCA",
	"bni":     "Bank BNI",
	"bri":     "Bank BRI",
	"mandiri": "Bank Mandiri",
}

// BankName returns the display name of a bank code: "Bank BCA" for bca,
// "QRIS" for qris, and "Bank " + the code in capitals for others.
func BankName(code string) string {
	if code == QRIS {
		return "QRIS"
	}
	if n, ok := knownBanks[code]; ok {
		return n
	}
	return "Bank " + strings.ToUpper(code)
}

var bankCodeRE = regexp.MustCompile(`^[a-z0-9_]{2,16}$`)

// ValidBankCode reports whether code can name a bank: 2 to 16 characters
// of a–z, 0–9 and '_', and not "qris".
func ValidBankCode(code string) bool { return bankCodeRE.MatchString(code) && code != QRIS }

var accountNumberRE = regexp.MustCompile(`^[0-9]{5,20}$`)

// DemoBanks are the destination accounts serve --demo uses when no banks
// are configured. They are not real accounts.
func DemoBanks() []Bank {
	const holder = "PT Kios Digital Demo"
	return []Bank{
		{Code: "bca", Name: BankName("bca"), AccountNumber: "8830123456", AccountName: holder, Active: true},
		{Code: "bni", Name: BankName("bni"), AccountNumber: "0123456789", AccountName: holder, Active: true},
		{Code: "bri", Name: BankName("bri"), AccountNumber: "012301000123456", AccountName: holder, Active: true},
		{Code: "mandiri", Name: BankName("mandiri"), AccountNumber: "1230009876543", AccountName: holder, Active: true},
	}
}

// Validate checks a bank account's fields and fills a missing name.
func (b *Bank) Validate() error {
	b.Code = strings.ToLower(strings.TrimSpace(b.Code))
	b.AccountNumber = strings.TrimSpace(b.AccountNumber)
	b.AccountName = strings.TrimSpace(b.AccountName)
	b.Name = strings.TrimSpace(b.Name)
	if !ValidBankCode(b.Code) {
		return fault.Field(fault.Invalid, "code", "a bank code is 2 to 16 characters of a-z, 0-9 and '_' (and not qris)")
	}
	if !accountNumberRE.MatchString(b.AccountNumber) {
		return fault.Field(fault.Invalid, "account_number", "an account number is 5 to 20 digits")
	}
	if err := checkText("account_name", b.AccountName, 64); err != nil {
		return err
	}
	if b.Name == "" {
		b.Name = BankName(b.Code)
	}
	return checkText("name", b.Name, 64)
}

// Prepare makes what funding needs exist: the system accounts, a world
// account per known bank, per configured bank and for QRIS, and a row of
// funding_banks for each bank of seed whose code has none yet. A code that
// has a row keeps it (operators may have changed it since); Prepare logs
// when seed differs from it. Several processes may call Prepare at once.
func (s *Service) Prepare(ctx context.Context, seed []Bank) error {
	for i := range seed {
		if err := seed[i].Validate(); err != nil {
			return fmt.Errorf("bank %q: %w", seed[i].Code, err)
		}
	}
	var differ []string
	write := func() error {
		return s.db.Write(ctx, func(tx *db.Tx) error {
			differ = differ[:0]
			now := s.clock()
			if err := ledger.EnsureSystem(tx, now); err != nil {
				return err
			}
			for _, b := range seed {
				n, err := tx.ExecAffected(`INSERT INTO funding_banks (code, name, account_number, account_name, active, updated_at, updated_by)
					VALUES (?, ?, ?, ?, TRUE, ?, 'config') ON CONFLICT (code) DO NOTHING`,
					b.Code, b.Name, b.AccountNumber, b.AccountName, now.UnixMicro())
				if err != nil {
					return err
				}
				if n == 0 {
					cur, err := bankTx(tx, b.Code)
					if err != nil {
						return err
					}
					if cur.AccountNumber != b.AccountNumber || cur.AccountName != b.AccountName || cur.Name != b.Name {
						differ = append(differ, b.Code)
					}
				}
			}
			codes := []string{QRIS}
			for c := range knownBanks {
				codes = append(codes, c)
			}
			rows, err := tx.Query("SELECT code FROM funding_banks")
			if err != nil {
				return err
			}
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					rows.Close()
					return err
				}
				codes = append(codes, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			slices.Sort(codes)
			for _, c := range slices.Compact(codes) {
				if _, err := ledger.EnsureAccount(tx, ledger.BankCode(c), ledger.KindWorld, true, now); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := write()
	if errors.Is(err, db.ErrConflict) {
		// Another process created an account at the same moment; now it
		// exists, and the second run finds it.
		err = write()
	}
	if err != nil {
		return fmt.Errorf("funding: prepare: %w", err)
	}
	for _, c := range differ {
		s.opt.Logger.Warn("funding: the configured destination account differs from the one in the database; the database's is used (operators may have changed it)", "bank", c)
	}
	return nil
}

// Banks returns the platform's destination accounts, active or not, by
// code.
func (s *Service) Banks(ctx context.Context) ([]Bank, error) {
	rows, err := s.db.Query(ctx, "SELECT code, name, account_number, account_name, active FROM funding_banks ORDER BY code")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Bank
	for rows.Next() {
		var b Bank
		if err := rows.Scan(&b.Code, &b.Name, &b.AccountNumber, &b.AccountName, &b.Active); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// SetBank creates or replaces a destination account; by names the
// operator. Deposits already created keep the account they were given.
func (s *Service) SetBank(ctx context.Context, b Bank, by string) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if strings.TrimSpace(by) == "" {
		return fault.Field(fault.Missing, "by", "who changes the account is required")
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.clock()
		if _, err := tx.Exec(`INSERT INTO funding_banks (code, name, account_number, account_name, active, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, account_number = excluded.account_number,
				account_name = excluded.account_name, active = excluded.active,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			b.Code, b.Name, b.AccountNumber, b.AccountName, b.Active, now.UnixMicro(), by); err != nil {
			return err
		}
		_, err := ledger.EnsureAccount(tx, ledger.BankCode(b.Code), ledger.KindWorld, true, now)
		return err
	})
}

// bankTx reads one destination account; db.ErrNotFound when there is none.
func bankTx(tx *db.Tx, code string) (Bank, error) {
	var b Bank
	err := tx.QueryRow("SELECT code, name, account_number, account_name, active FROM funding_banks WHERE code = ?", code).
		Scan(&b.Code, &b.Name, &b.AccountNumber, &b.AccountName, &b.Active)
	return b, err
}

// checkText checks a required free-text field: non-empty, at most max
// characters, valid UTF-8 without control characters.
func checkText(field, s string, max int) error {
	if s == "" {
		return fault.Field(fault.Missing, field, "is required")
	}
	n := 0
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 || r == 0x7f {
			return fault.Field(fault.Invalid, field, "contains a character that is not allowed")
		}
		n++
	}
	if n > max {
		return fault.Field(fault.Invalid, field, "is longer than %d characters", max)
	}
	return nil
}

// recordStatus appends one row to the status history.
func recordStatus(tx *db.Tx, reference, status string, at time.Time, actor, note string) error {
	_, err := tx.Exec("INSERT INTO funding_status (reference, status, changed_at, actor, note) VALUES (?, ?, ?, ?, ?)",
		reference, status, at.UnixMicro(), actor, note)
	return err
}

// actor checks and returns who decides a status change.
func actor(by string) (string, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return "", fault.Field(fault.Missing, "by", "who decides is required")
	}
	if err := checkText("by", by, 64); err != nil {
		return "", err
	}
	return by, nil
}

// memberAccount returns the ledger account of member id inside tx, or a
// fault.NotFound.
func memberAccount(tx *db.Tx, memberID int64) (int64, error) {
	a, err := ledger.AccountByCode(tx, ledger.MemberCode(memberID))
	if errors.Is(err, ledger.ErrNoAccount) {
		return 0, fault.New(fault.NotFound, "no member %d", memberID)
	}
	return a.ID, err
}
