package ordering

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/inventory"
)

// Suggestion is the suggested order of clinic today: one line per vaccine
// the clinic gave in the usage window or holds in stock, by CVX, each
// requesting its suggested doses.
func (s *Store) Suggestion(ctx context.Context, clinic string) ([]Line, error) {
	today := dateOf(s.cfg.Now())
	used, err := s.cfg.Stock.Usage(ctx, clinic, today.AddDate(0, -s.cfg.Rule.UsageMonths, 0), today.AddDate(0, 0, 1))
	if err != nil {
		return nil, fmt.Errorf("ordering: suggestion: %w", err)
	}
	onHand, err := s.cfg.Stock.OnHand(ctx, clinic, today)
	if err != nil {
		return nil, fmt.Errorf("ordering: suggestion: %w", err)
	}
	cvxs := slices.Collect(maps.Keys(used))
	for c := range onHand {
		if _, ok := used[c]; !ok {
			cvxs = append(cvxs, c)
		}
	}
	slices.Sort(cvxs)
	out := make([]Line, 0, len(cvxs))
	for _, c := range cvxs {
		if c == "" {
			continue
		}
		l := Line{CVX: c, PackageDoses: s.PackageDoses(c), Used: used[c], OnHand: onHand[c]}
		l.Suggested = Suggest(s.cfg.Rule, l.Used, l.OnHand, l.PackageDoses)
		l.Requested = l.Suggested
		out = append(out, l)
	}
	return out, nil
}

// checkLines refuses a vaccine named twice or without a CVX, and a
// quantity that is negative or not whole packages; it returns the lines
// with a quantity.
func (s *Store) checkLines(lines []Line, qty func(Line) int) ([]Line, error) {
	seen := map[string]bool{}
	var out []Line
	for _, l := range lines {
		l.CVX = strings.TrimSpace(l.CVX)
		n := qty(l)
		switch pkg := s.PackageDoses(l.CVX); {
		case l.CVX == "" && n == 0:
			continue
		case l.CVX == "":
			return nil, inputErr("a line of %d doses names no vaccine (CVX)", n)
		case seen[l.CVX]:
			return nil, inputErr("vaccine %s is on the order twice", l.CVX)
		case n < 0:
			return nil, inputErr("vaccine %s: the doses cannot be negative", l.CVX)
		case n%pkg != 0:
			return nil, inputErr("vaccine %s: order whole packages of %d doses (%d is not)", l.CVX, pkg, n)
		}
		seen[l.CVX] = true
		l.PackageDoses = s.PackageDoses(l.CVX)
		out = append(out, l)
	}
	return out, nil
}

// Submit records clinic's order (the lines with doses requested) and
// returns its id.
func (s *Store) Submit(ctx context.Context, clinic, actor, funding, note string, lines []Line) (int64, error) {
	if clinic == "" {
		return 0, inputErr("a clinic is required")
	}
	if !slices.Contains(Fundings, funding) {
		return 0, inputErr("funding must be one of %s", strings.Join(Fundings, ", "))
	}
	lines, err := s.checkLines(lines, func(l Line) int { return l.Requested })
	if err != nil {
		return 0, err
	}
	lines = slices.DeleteFunc(lines, func(l Line) bool { return l.Requested == 0 })
	if len(lines) == 0 {
		return 0, inputErr("order at least one package")
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO vaccine_orders (clinic, funding, note, submitted_by, submitted_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			clinic, funding, strings.TrimSpace(note), actor, s.cfg.Now()).Scan(&id); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, l := range lines {
			b.Queue(`INSERT INTO vaccine_order_lines (order_id, cvx, package_doses, used, on_hand, suggested, requested) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, l.CVX, l.PackageDoses, l.Used, l.OnHand, l.Suggested, l.Requested)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("ordering: submit: %w", err)
	}
	return id, nil
}

// Decide records program staff's decision on a submitted order: approve
// (each line's approved doses from approved by CVX, the requested doses
// for a vaccine it leaves out) or deny. A denial, and an approval that
// changes a quantity, need a reason.
func (s *Store) Decide(ctx context.Context, id int64, actor string, approve bool, approved map[string]int, reason string) error {
	reason = strings.TrimSpace(reason)
	return pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if o.Status != Submitted {
			return inputErr("order %d is %s: only a submitted order is decided", id, o.Status)
		}
		if !approve {
			if reason == "" {
				return inputErr("give the reason for denying the order")
			}
			return setDecision(ctx, tx, id, Denied, actor, reason, s.cfg.Now(), nil)
		}
		lines, err := Approve(o.Lines, approved, reason)
		if err != nil {
			return err
		}
		if _, err := s.checkLines(lines, func(l Line) int { return l.Approved }); err != nil {
			return err
		}
		return setDecision(ctx, tx, id, Approved, actor, reason, s.cfg.Now(), lines)
	})
}

// Approve is the approval rule: each line's approved doses are those
// program staff gave for its vaccine, else its requested doses; a change
// needs a reason, and an approval of no dose at all is a denial.
func Approve(lines []Line, approved map[string]int, reason string) ([]Line, error) {
	out := slices.Clone(lines)
	changed, total := false, 0
	for i := range out {
		l := &out[i]
		l.Approved, l.Decided = l.Requested, true
		if n, ok := approved[l.CVX]; ok {
			l.Approved = n
		}
		changed = changed || l.Approved != l.Requested
		total += l.Approved
	}
	for c := range approved {
		if !slices.ContainsFunc(out, func(l Line) bool { return l.CVX == c }) {
			return nil, inputErr("vaccine %s is not on the order", c)
		}
	}
	switch {
	case total <= 0:
		return nil, inputErr("an approval of no dose is a denial: deny the order with its reason")
	case changed && strings.TrimSpace(reason) == "":
		return nil, inputErr("give the reason for changing the quantities")
	}
	return out, nil
}

func setDecision(ctx context.Context, tx pgx.Tx, id int64, status, actor, reason string, at time.Time, lines []Line) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE vaccine_orders SET status = $2, decided_by = $3, decided_at = $4, decision_reason = $5 WHERE id = $1`, id, status, actor, at, reason)
	for _, l := range lines {
		b.Queue(`UPDATE vaccine_order_lines SET approved = $3 WHERE order_id = $1 AND cvx = $2`, id, l.CVX, l.Approved)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("ordering: decide: %w", err)
	}
	return nil
}

// Shipped is what arrived of an order's line: its lot.
type Shipped struct {
	CVX      string
	NDC, MVX string
	Lot      string
	Expires  time.Time
	Doses    int
}

// Receive records the shipment of clinic's approved order: each shipped
// line (doses > 0) becomes a lot of the clinic's inventory with the
// order's funding, in the transaction that marks the order received.
func (s *Store) Receive(ctx context.Context, clinic string, id int64, actor string, on time.Time, shipped []Shipped) error {
	return pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if o.Clinic != clinic {
			return inputErr("no order %d at clinic %s", id, clinic)
		}
		if o.Status != Approved {
			return inputErr("order %d is %s: only an approved order is received", id, o.Status)
		}
		receipt, got, err := receiptOf(o, shipped)
		if err != nil {
			return err
		}
		if _, err := s.cfg.Stock.ReceiveTx(ctx, tx, clinic, actor, on, receipt); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE vaccine_orders SET status = 'received', received_by = $2, received_at = $3 WHERE id = $1`, id, actor, s.cfg.Now())
		for cvx, n := range got {
			b.Queue(`UPDATE vaccine_order_lines SET received = $3 WHERE order_id = $1 AND cvx = $2`, id, cvx, n)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("ordering: receive: %w", err)
		}
		return nil
	})
}

// receiptOf turns the shipped lots into inventory receipt lines, each of a
// vaccine on the order; it returns them and the doses received by CVX.
func receiptOf(o *Order, shipped []Shipped) ([]inventory.ReceiptLine, map[string]int, error) {
	var out []inventory.ReceiptLine
	got := map[string]int{}
	for _, sh := range shipped {
		if sh.Doses == 0 && strings.TrimSpace(sh.Lot) == "" {
			continue
		}
		if !slices.ContainsFunc(o.Lines, func(l Line) bool { return l.CVX == sh.CVX && l.Approved > 0 }) {
			return nil, nil, inputErr("vaccine %s was not approved on order %d", sh.CVX, o.ID)
		}
		out = append(out, inventory.ReceiptLine{CVX: sh.CVX, NDC: sh.NDC, MVX: sh.MVX, Lot: sh.Lot, Expires: sh.Expires, Funding: o.Funding, Doses: sh.Doses})
		got[sh.CVX] += sh.Doses
	}
	if len(out) == 0 {
		return nil, nil, inputErr("enter the lot of at least one vaccine received")
	}
	return out, got, nil
}

const orderColumns = `id, clinic, funding, status, note, submitted_by, submitted_at, decided_by, decided_at, decision_reason, received_by, received_at`

func lockOrder(ctx context.Context, tx pgx.Tx, id int64) (*Order, error) {
	os, err := queryOrders(ctx, tx, `SELECT `+orderColumns+` FROM vaccine_orders WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, inputErr("no order %d", id)
	}
	return &os[0], nil
}

// Order returns order id (of clinic, unless clinic is "").
func (s *Store) Order(ctx context.Context, clinic string, id int64) (*Order, error) {
	os, err := queryOrders(ctx, s.cfg.Pool, `SELECT `+orderColumns+` FROM vaccine_orders WHERE id = $1 AND ($2 = '' OR clinic = $2)`, id, clinic)
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, inputErr("no such order")
	}
	return &os[0], nil
}

// Orders lists clinic's orders ("": every clinic's) with status ("": any),
// newest first, at most limit.
func (s *Store) Orders(ctx context.Context, clinic, status string, limit int) ([]Order, error) {
	return queryOrders(ctx, s.cfg.Pool, `SELECT `+orderColumns+` FROM vaccine_orders
		WHERE ($1 = '' OR clinic = $1) AND ($2 = '' OR status = $2) ORDER BY id DESC LIMIT $3`, clinic, status, limit)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryOrders reads orders and their lines.
func queryOrders(ctx context.Context, q querier, sql string, args ...any) ([]Order, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("ordering: orders: %w", err)
	}
	os, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) {
		var o Order
		var dec, rec *time.Time
		err := r.Scan(&o.ID, &o.Clinic, &o.Funding, &o.Status, &o.Note, &o.SubmittedBy, &o.SubmittedAt, &o.DecidedBy, &dec, &o.DecisionReason, &o.ReceivedBy, &rec)
		o.DecidedAt, o.ReceivedAt = deref(dec), deref(rec)
		return o, err
	})
	if err != nil || len(os) == 0 {
		if err != nil {
			err = fmt.Errorf("ordering: orders: %w", err)
		}
		return os, err
	}
	return os, linesOf(ctx, q, os)
}

func linesOf(ctx context.Context, q querier, os []Order) error {
	ids := make([]int64, len(os))
	at := map[int64]int{}
	for i, o := range os {
		ids[i], at[o.ID] = o.ID, i
	}
	rows, err := q.Query(ctx, `SELECT order_id, cvx, package_doses, used, on_hand, suggested, requested, approved, received
		FROM vaccine_order_lines WHERE order_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("ordering: order lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var l Line
		var appr, rec *int32
		if err := rows.Scan(&id, &l.CVX, &l.PackageDoses, &l.Used, &l.OnHand, &l.Suggested, &l.Requested, &appr, &rec); err != nil {
			return fmt.Errorf("ordering: order lines: %w", err)
		}
		if appr != nil {
			l.Approved, l.Decided = int(*appr), true
		}
		if rec != nil {
			l.Received = int(*rec)
		}
		o := &os[at[id]]
		o.Lines = append(o.Lines, l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ordering: order lines: %w", err)
	}
	for i := range os {
		slices.SortFunc(os[i].Lines, func(a, b Line) int { return cmp.Compare(a.CVX, b.CVX) })
	}
	return nil
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
