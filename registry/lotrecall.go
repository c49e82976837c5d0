package registry

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// LotRecallQuery is a lot recall search (an IIS functional standard):
// the doses of a lot, or of a manufacturer's lots given in a date range.
// A lot number matches whatever its spelling (capitals, without spaces,
// dashes, dots or slashes: "ab-12 3" is lot AB123, the rule the
// inventory matches doses on).
type LotRecallQuery struct {
	Lot      string    // the lot number; "" any lot of MVX in the range
	MVX      string    // the manufacturer (RXA-17); "" any
	From, To time.Time // doses given in [From, To); zero: no bound
	Clinic   string    // a facility id: only its doses; "" every clinic
	// Undisclosed includes the patients who opted out or are protected
	// (PD1-12 Y, PD1-16 P), marked; the program's staff only.
	Undisclosed bool
	Limit       int // at most this many rows (0: MaxLotRecall)
}

// MaxLotRecall bounds a recall search's answer.
const MaxLotRecall = 50_000

// Check reports what is wrong with q, in words for people.
func (q LotRecallQuery) Check() error {
	switch {
	case LotRecallKey(q.Lot) == "" && (strings.TrimSpace(q.MVX) == "" || q.From.IsZero() || q.To.IsZero()):
		return fmt.Errorf("%w: give a lot number, or a manufacturer (MVX) and a date range", ErrQuery)
	case !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From):
		return fmt.Errorf("%w: the end of the date range must come after its start", ErrQuery)
	}
	return nil
}

// LotRecallKey is a lot number as a recall search matches it.
func LotRecallKey(lot string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '\t', '/':
			return -1
		}
		return r
	}, strings.ToUpper(lot))
}

// LotRecallRow is a patient who received a dose of the lot.
type LotRecallRow struct {
	PatientID     int64
	Family, Given string
	BirthDate     time.Time
	Clinic        string // the reporting facility (MSH-4)
	On            time.Time
	CVX, Lot, MVX string
	Historical    bool // reported as historical (RXA-9 01): another provider gave it
	Undisclosed   bool // opted out or protected
}

// lotRecallSQL finds the standing doses (consolidation winner or duplicate,
// RXA-20 CP or PA) of a lot, one per patient and event: the administering
// clinic's report first, then the earliest. A lot is found through the
// partial index source_vaccinations_lot_key (migration 0066), whose
// predicate (a key that is not empty) and expression the lot condition
// repeats. The doses are read first (MATERIALIZED), then each one's
// patient by its key (OFFSET 0 keeps that a probe): with thin statistics
// of the key the planner would otherwise read all of patients in order for
// the LIMIT.
const lotRecallSQL = `WITH s AS MATERIALIZED (SELECT s.patient_id, s.event_id, s.id, s.facility, s.administered_on, s.cvx, s.lot, s.mvx, s.historical
		FROM source_vaccinations s
		WHERE s.consolidation IN ('winner', 'duplicate') AND s.completion_status IN ('CP', 'PA')
			AND ($1 = '' OR (translate(upper(s.lot), ' -./' || chr(9), '') <> '' AND translate(upper(s.lot), ' -./' || chr(9), '') = $1))
			AND ($2 = '' OR upper(s.mvx) = $2)
			AND ($3::date IS NULL OR s.administered_on >= $3) AND ($4::date IS NULL OR s.administered_on < $4)
			AND ($5 = '' OR s.facility = $5))
	SELECT DISTINCT ON (p.id, s.event_id) p.id, p.family_name, p.given_name, p.birth_date,
		s.facility, s.administered_on, s.cvx, s.lot, s.mvx, s.historical, ` + notDisclosed + `
	FROM s CROSS JOIN LATERAL (SELECT * FROM patients p WHERE p.id = s.patient_id AND p.merged_into IS NULL OFFSET 0) p
	WHERE ($6 OR NOT ` + notDisclosed + `)
	ORDER BY p.id, s.event_id, s.historical, s.id
	LIMIT $7`

// LotRecall lists the patients who received a dose of q's lot, ordered by
// date, clinic and patient.
func (s *Store) LotRecall(ctx context.Context, q LotRecallQuery) ([]LotRecallRow, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxLotRecall {
		limit = MaxLotRecall
	}
	var out []LotRecallRow
	// A lot's estimate can pass PostgreSQL's JIT threshold (thin
	// statistics of the key): compiling costs ten times the lookup.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, lotRecallSQL, LotRecallKey(q.Lot), strings.ToUpper(strings.TrimSpace(q.MVX)),
			dateOrNull(q.From), dateOrNull(q.To), q.Clinic, q.Undisclosed, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanLotRecallRow)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: lot recall: %w", err)
	}
	sortRecall(out)
	return out, nil
}

func scanLotRecallRow(r pgx.CollectableRow) (LotRecallRow, error) {
	var x LotRecallRow
	var birth, on *time.Time
	err := r.Scan(&x.PatientID, &x.Family, &x.Given, &birth, &x.Clinic, &on, &x.CVX, &x.Lot, &x.MVX, &x.Historical, &x.Undisclosed)
	x.BirthDate, x.On = deref(birth), deref(on)
	return x, err
}

func dateOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	d := dateOnly(t)
	return &d
}

func sortRecall(rs []LotRecallRow) {
	slices.SortFunc(rs, func(a, b LotRecallRow) int {
		return cmp.Or(a.On.Compare(b.On), cmp.Compare(a.Clinic, b.Clinic), cmp.Compare(a.PatientID, b.PatientID))
	})
}
