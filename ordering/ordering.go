// Package ordering is a clinic's vaccine orders to the state program: a
// suggested order per vaccine from the clinic's recent usage and its
// stock (Suggest), which the vaccine coordinator adjusts and submits;
// program staff approve it (changing quantities with a reason) or deny it
// with a reason; an approved order exports to a VTrckS-style order file
// (ExportCSV); receiving the shipment turns its lines into lots of the
// clinic's inventory (through inventory's Receive).
//
// The package owns its tables (migration 0065).
package ordering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iisproject/iis/inventory"
)

// Statuses of an order.
const (
	Submitted = "submitted"
	Approved  = "approved"
	Denied    = "denied"
	Received  = "received"
)

// Fundings an order may ask for (public vaccine; private stock is bought
// from the distributor, not ordered from the program).
var Fundings = []string{inventory.VFC, inventory.F317, inventory.State}

// Rule is the suggestion rule's parameters.
type Rule struct {
	UsageMonths  int // the months of usage the monthly rate is taken over
	SupplyMonths int // the months of supply an order brings the stock to
}

// DefaultRule: three months of usage, two months of supply.
var DefaultRule = Rule{UsageMonths: 3, SupplyMonths: 2}

// DefaultPackageDoses is the doses of a vaccine's package when the
// configuration names none for its CVX (the common public-vaccine package
// of ten single-dose vials or syringes).
const DefaultPackageDoses = 10

// Suggest is the order rule: the doses to order of a vaccine of which
// used doses were given in the last r.UsageMonths months and onHand are
// in stock. The target stock is the monthly usage times r.SupplyMonths,
// rounded up to a whole dose; the order is the target less the stock,
// rounded up to whole packages of pkg doses; nothing when the stock
// reaches the target.
func Suggest(r Rule, used, onHand, pkg int) int {
	if r.UsageMonths <= 0 || r.SupplyMonths <= 0 || used <= 0 {
		return 0
	}
	if pkg <= 0 {
		pkg = 1
	}
	target := (used*r.SupplyMonths + r.UsageMonths - 1) / r.UsageMonths
	need := target - max(onHand, 0)
	if need <= 0 {
		return 0
	}
	return (need + pkg - 1) / pkg * pkg
}

// Line is an order's line: one vaccine.
type Line struct {
	CVX          string
	PackageDoses int
	Used         int // doses given in the usage window
	OnHand       int // doses on hand (unexpired) when suggested
	Suggested    int
	Requested    int
	Approved     int  // valid when Decided
	Decided      bool // program staff decided the order
	Received     int
}

// Order is a clinic's order.
type Order struct {
	ID             int64
	Clinic         string
	Funding        string
	Status         string
	Note           string
	SubmittedBy    string
	SubmittedAt    time.Time
	DecidedBy      string
	DecidedAt      time.Time
	DecisionReason string
	ReceivedBy     string
	ReceivedAt     time.Time
	Lines          []Line
}

// Doses is the order's total of requested (or, once decided, approved)
// doses.
func (o *Order) Doses() int {
	n := 0
	for _, l := range o.Lines {
		if l.Decided {
			n += l.Approved
		} else {
			n += l.Requested
		}
	}
	return n
}

// Stock is what an order needs of the clinic's inventory
// (inventory.Store).
type Stock interface {
	OnHand(ctx context.Context, clinic string, today time.Time) (map[string]int, error)
	Usage(ctx context.Context, clinic string, from, to time.Time) (map[string]int, error)
	ReceiveTx(ctx context.Context, tx pgx.Tx, clinic, actor string, on time.Time, lines []inventory.ReceiptLine) ([]int64, error)
}

// Config configures a Store.
type Config struct {
	Pool     *pgxpool.Pool
	Stock    Stock
	Rule     Rule           // zero: DefaultRule
	Packages map[string]int // doses per package by CVX; others DefaultPackageDoses
	Logger   *slog.Logger
	Now      func() time.Time
}

// Store is the orders' tables.
type Store struct {
	cfg Config
}

// New returns a Store.
func New(cfg Config) (*Store, error) {
	if cfg.Pool == nil || cfg.Stock == nil {
		return nil, errors.New("ordering: a pool and the inventory are required")
	}
	if cfg.Rule.UsageMonths <= 0 || cfg.Rule.SupplyMonths <= 0 {
		cfg.Rule = DefaultRule
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{cfg: cfg}, nil
}

// Rule returns the store's suggestion rule.
func (s *Store) Rule() Rule { return s.cfg.Rule }

// PackageDoses returns the doses of a package of vaccine cvx.
func (s *Store) PackageDoses(cvx string) int {
	if n := s.cfg.Packages[cvx]; n > 0 {
		return n
	}
	return DefaultPackageDoses
}

// ErrInput is a request the rules refuse; its message is for people.
var ErrInput = errors.New("ordering")

func inputErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, a...))
}

// IsInput reports whether err is a refused request.
func IsInput(err error) bool { return errors.Is(err, ErrInput) || inventory.IsInput(err) }
