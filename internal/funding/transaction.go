package funding

import (
	"context"
	"errors"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/reference"
	"kios/internal/rupiah"
	"kios/internal/webhook"
)

// Transaction is a deposit or a withdrawal as the faces show it.
type Transaction struct {
	Type             string // TypeDeposit or TypeWithdraw
	Reference        string
	PartnerReference string // withdrawals only; "" when the member gave none
	MemberID         int64
	Provider         string // "DEPOSIT" or "WITHDRAW"
	Product          string // "Isi Saldo Rp. 500.000", "Tarik Saldo Rp. 100.000"
	// Channel is the deposit's channel ("bca", "qris") or the withdrawal's
	// bank code; Via is its display name ("Bank BCA", "QRIS").
	Channel string
	Via     string
	// Amount is what the member asked for. A deposit's Price is Amount +
	// UniqueCode, the exact sum to pay and the sum credited; a withdrawal's
	// Price is its Amount.
	Amount     int64
	UniqueCode int64
	Price      int64
	// AccountNumber and AccountName are, for a deposit, the platform's
	// destination account the payer was told (empty for QRIS); for a
	// withdrawal, the member's account the money goes to.
	AccountNumber string
	AccountName   string
	Status        string
	// Reason is an operator's comment on a rejection.
	Reason    string
	CreatedAt time.Time
	StatusAt  time.Time
	ExpiredAt time.Time // deposits only; zero for withdrawals
	// WebhookSent is true once a transaction_status webhook about it was
	// delivered to the member.
	WebhookSent bool
}

// Note is the human line about the status, with times in WIB:
// "Transaksi berhasil pada 2024/07/01 14:47:57 WIB".
func (t Transaction) Note() string {
	at := t.StatusAt.In(reference.WIB).Format("2006/01/02 15:04:05") + " WIB"
	var s string
	switch t.Status {
	case Unpaid:
		s = "Menunggu pembayaran Rp " + rupiah.Format(t.Price) + " melalui " + t.Via + " sebelum " +
			t.ExpiredAt.In(reference.WIB).Format("2006/01/02 15:04:05") + " WIB"
	case Processing:
		s = "Penarikan saldo sedang menunggu diproses"
	case Success:
		s = "Transaksi berhasil pada " + at
	case Expired:
		if t.Reason != "" {
			s = "Transaksi dibatalkan pada " + at
		} else {
			s = "Transaksi kedaluwarsa pada " + at
		}
	case Failed:
		s = "Transaksi gagal pada " + at
	}
	if t.Reason != "" && (t.Status == Failed || t.Status == Expired) {
		s += ": " + t.Reason
	}
	return s
}

// StatusChange is one row of a transaction's status history.
type StatusChange struct {
	Status string
	At     time.Time
	Actor  string // "member:<id>", "system", or the operator or command that decided
	Note   string
}

var errNoTransaction = fault.New(fault.NotFound, "no such deposit or withdrawal")

// Get returns the calling member's deposit or withdrawal with reference.
// Another member's reference is fault.NotFound, exactly as an unknown one.
func (s *Service) Get(ctx context.Context, memberID int64, ref string) (Transaction, error) {
	t, err := s.Find(ctx, ref)
	if err != nil {
		return Transaction{}, err
	}
	if t.MemberID != memberID {
		return Transaction{}, errNoTransaction
	}
	return t, nil
}

// ByPartnerReference returns the calling member's newest withdrawal made
// with partner_reference pr (deposits have none); fault.NotFound when
// there is none.
func (s *Service) ByPartnerReference(ctx context.Context, memberID int64, pr string) (Transaction, error) {
	if pr == "" {
		return Transaction{}, errNoTransaction
	}
	var ref string
	err := s.db.QueryRow(ctx, "SELECT reference FROM withdrawal_keys WHERE member_id = ? AND partner_reference = ?",
		memberID, pr).Scan(&ref)
	if errors.Is(err, db.ErrNotFound) {
		return Transaction{}, errNoTransaction
	}
	if err != nil {
		return Transaction{}, err
	}
	return s.Get(ctx, memberID, ref)
}

// Find returns the deposit or withdrawal with reference, whoever's it is
// (for operators and the invoice page); fault.NotFound when there is none.
func (s *Service) Find(ctx context.Context, ref string) (Transaction, error) {
	if ref == "" {
		return Transaction{}, errNoTransaction
	}
	t, err := scanDeposit(s.db.QueryRow(ctx, "SELECT "+depositCols+" FROM deposits WHERE reference = ?", ref))
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return Transaction{}, err
	}
	t, err = scanWithdrawal(s.db.QueryRow(ctx, "SELECT "+withdrawalCols+" FROM withdrawals WHERE reference = ?", ref))
	if errors.Is(err, db.ErrNotFound) {
		return Transaction{}, errNoTransaction
	}
	return t, err
}

// History returns the status changes of a deposit or withdrawal, oldest
// first.
func (s *Service) History(ctx context.Context, ref string) ([]StatusChange, error) {
	rows, err := s.db.Query(ctx, "SELECT status, changed_at, actor, note FROM funding_status WHERE reference = ? ORDER BY id", ref)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		var at int64
		if err := rows.Scan(&c.Status, &at, &c.Actor, &c.Note); err != nil {
			return nil, err
		}
		c.At = time.UnixMicro(at).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// scanner is what *db.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

const depositCols = `reference, member_id, channel, via, amount, unique_code, price, dest_account_number,
	dest_account_name, status, reason, created_at, expired_at, status_at, webhook_sent`

func scanDeposit(row scanner) (Transaction, error) {
	t := Transaction{Type: TypeDeposit, Provider: "DEPOSIT"}
	var created, expired, statusAt int64
	err := row.Scan(&t.Reference, &t.MemberID, &t.Channel, &t.Via, &t.Amount, &t.UniqueCode, &t.Price,
		&t.AccountNumber, &t.AccountName, &t.Status, &t.Reason, &created, &expired, &statusAt, &t.WebhookSent)
	if err != nil {
		return Transaction{}, err
	}
	t.Product = depositProduct(t.Amount)
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.ExpiredAt = time.UnixMicro(expired).UTC()
	t.StatusAt = time.UnixMicro(statusAt).UTC()
	return t, nil
}

const withdrawalCols = `reference, member_id, partner_reference, amount, bank, bank_name, account_number,
	account_name, status, reason, created_at, status_at, webhook_sent`

func scanWithdrawal(row scanner) (Transaction, error) {
	t := Transaction{Type: TypeWithdraw, Provider: "WITHDRAW"}
	var created, statusAt int64
	err := row.Scan(&t.Reference, &t.MemberID, &t.PartnerReference, &t.Amount, &t.Channel, &t.Via,
		&t.AccountNumber, &t.AccountName, &t.Status, &t.Reason, &created, &statusAt, &t.WebhookSent)
	if err != nil {
		return Transaction{}, err
	}
	t.Price = t.Amount
	t.Product = withdrawProduct(t.Amount)
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.StatusAt = time.UnixMicro(statusAt).UTC()
	return t, nil
}

func depositProduct(amount int64) string  { return "Isi Saldo Rp. " + rupiah.Format(amount) }
func withdrawProduct(amount int64) string { return "Tarik Saldo Rp. " + rupiah.Format(amount) }

// notify writes t's transaction_status webhook to the outbox, inside the
// transaction that gave t its status. sent_at is when the message was
// written: the body is signed once and never changes on retries.
func (s *Service) notify(tx *db.Tx, t Transaction, now time.Time) error {
	// sn is always "N/A" for funding, as the prepaid face's status call
	// shows it; partner_reference only for a withdrawal that has one.
	body, err := webhook.StatusBody(t.Reference, t.PartnerReference, t.Status, "", t.Note(), now)
	if err != nil {
		return err
	}
	if err := webhook.Enqueue(tx, t.MemberID, webhook.KindTransactionStatus, t.Reference, body, now); err != nil {
		return err
	}
	if s.opt.Notify != nil {
		tx.AfterCommit(s.opt.Notify)
	}
	return nil
}

// MarkWebhookSent records that a deposit's or withdrawal's status reached
// its member; the webhook worker calls it (through the owner of the
// reference, see Owns) in the transaction that records the delivery. It
// is idempotent, and a reference that is neither changes nothing.
func MarkWebhookSent(tx *db.Tx, reference string) error {
	n, err := tx.ExecAffected("UPDATE deposits SET webhook_sent = TRUE WHERE reference = ? AND NOT webhook_sent", reference)
	if err != nil || n > 0 {
		return err
	}
	_, err = tx.Exec("UPDATE withdrawals SET webhook_sent = TRUE WHERE reference = ? AND NOT webhook_sent", reference)
	return err
}
