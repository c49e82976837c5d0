// Package inventory is a clinic's vaccine stock: lots (vaccine by CVX and
// NDC, manufacturer, lot number, expiration, funding source) with their
// doses on hand, and a ledger (inventory_transactions) of every change:
// receipts, transfers between clinics, wastage and returns, the monthly
// physical count's adjustments, and every administered dose the registry
// stores for the clinic (Hook, called by the worker inside the registry's
// transaction).
//
// A lot's stock is a maintained balance (inventory_lots.on_hand), changed
// only with its ledger row, under the lot's row lock, never below zero: a
// dose given beyond the stock is recorded as a shortfall. The ledger is
// the audit trail; the balance makes a stock read and the non-negative
// check one row instead of a sum over the lot's history.
//
// The package owns its tables (migration 0060).
package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Funding sources of a lot.
const (
	VFC     = "VFC"
	F317    = "317"
	State   = "state"
	Private = "private"
)

// Fundings lists the funding sources a lot may have.
var Fundings = []string{VFC, F317, State, Private}

// ValidFunding reports whether f is a lot's funding source.
func ValidFunding(f string) bool { return slices.Contains(Fundings, f) }

// FundingOf maps a dose's funding source code (OBX 30963-3, CDC's
// CDCPHINVS value set) to a lot's funding source; "" when unknown.
func FundingOf(code string) string {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "VXC1", "VXC51": // federal funds; public VFC
		return VFC
	case "VXC52": // public non-VFC (Section 317)
		return F317
	case "VXC2", "VXC3": // state funds; tribal funds
		return State
	case "PHC70", "PHC68": // private funds; military funds
		return Private
	}
	return ""
}

// VFCEligible reports whether a dose's eligibility (OBX 64994-7, HL70064)
// is a VFC category: V02 Medicaid, V03 uninsured, V04 American Indian or
// Alaska Native, V05 underinsured at an FQHC/RHC.
func VFCEligible(code string) bool {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "V02", "V03", "V04", "V05":
		return true
	}
	return false
}

// PrivatePay reports whether a dose's eligibility is V01, not VFC
// eligible (private insurance or self-pay).
func PrivatePay(code string) bool { return strings.EqualFold(strings.TrimSpace(code), "V01") }

// LotKey is the form of a lot number that doses match on: capitals,
// without spaces, dashes or dots ("ab-12 3" and "AB123" are one lot).
func LotKey(lot string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(lot) {
		switch r {
		case ' ', '-', '.', '\t', '/':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Wastage and return reasons.
const (
	ReasonExpired      = "expired"
	ReasonTemperature  = "spoiled by temperature excursion"
	ReasonBroken       = "broken"
	ReasonDrawnNotUsed = "drawn but not given"
	ReasonOther        = "other"
)

// WasteReasons lists the reasons a wastage or return may give.
var WasteReasons = []string{ReasonExpired, ReasonTemperature, ReasonBroken, ReasonDrawnNotUsed, ReasonOther}

// Kinds of ledger rows.
const (
	KindReceipt      = "receipt"
	KindTransferOut  = "transfer_out"
	KindTransferIn   = "transfer_in"
	KindWastage      = "wastage"
	KindReturn       = "return"
	KindAdjustment   = "adjustment"
	KindAdministered = "administered"
	KindReversal     = "reversal"
)

// Lot is a lot a clinic holds.
type Lot struct {
	ID        int64
	Clinic    string
	CVX       string
	NDC       string
	MVX       string
	Number    string
	Expires   time.Time // zero: not known
	Funding   string
	OnHand    int
	CreatedAt time.Time
}

// Transaction is one ledger row.
type Transaction struct {
	ID          int64
	Clinic      string
	LotID       int64
	Kind        string
	Quantity    int
	Shortfall   int
	Reason      string
	Counterpart int64
	Dose        int64 // source vaccination id
	OccurredOn  time.Time
	Actor       string
	Note        string
}

// Config configures a Store.
type Config struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	Now    func() time.Time
}

// Store is the inventory's tables.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	now  func() time.Time
}

// New returns a Store (the tables come with the registry's migrations).
func New(cfg Config) (*Store, error) {
	if cfg.Pool == nil {
		return nil, errors.New("inventory: a pool is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{pool: cfg.Pool, log: cfg.Logger, now: cfg.Now}, nil
}

// ErrInput is a request the rules refuse (a quantity beyond the stock, an
// unknown lot, a missing reason); its message is for people.
var ErrInput = errors.New("inventory")

func inputErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, a...))
}

// StartClinic makes clinic an inventory clinic from on (if it is not
// one): its administered doses of that date or later draw on its lots.
func (s *Store) StartClinic(ctx context.Context, clinic string, on time.Time) error {
	if clinic == "" {
		return inputErr("a clinic is required")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO inventory_clinics (clinic, started_on) VALUES ($1, $2) ON CONFLICT DO NOTHING`, clinic, dateOf(on))
	if err != nil {
		return fmt.Errorf("inventory: start clinic: %w", err)
	}
	return nil
}

func startClinicTx(ctx context.Context, tx pgx.Tx, clinic string, on time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO inventory_clinics (clinic, started_on) VALUES ($1, $2) ON CONFLICT DO NOTHING`, clinic, dateOf(on))
	if err != nil {
		return fmt.Errorf("inventory: start clinic: %w", err)
	}
	return nil
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func dateOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	d := dateOf(t)
	return &d
}
