package registry

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The raw message store (migration 0070): message_bodies (raw message and
// ACK) and message_errors (ERR rows) are partitioned by received time into
// periods, each period by message kind, so that each kind is kept for its
// own retention and a prune drops whole partitions. source_reports, the
// provenance of every report and dose, is never pruned.

// messageStoreLock is the advisory lock key held while maintaining the
// message store, so that one replica at a time creates and drops partitions.
const messageStoreLock = 0x11500070

// messageStoreTables are the partitioned tables of the raw message store.
var messageStoreTables = []string{"message_bodies", "message_errors"}

// messageKinds are the kinds with their own partitions and retention;
// messages of any other kind are kept under "other".
var messageKinds = []string{"vxu", "rejected", "query", "other"}

// MessageStorePolicy says how the raw message store is partitioned and
// how long each kind of message is kept.
type MessageStorePolicy struct {
	// Period is the span of a partition: "month" (default), "week" or "day".
	Period string
	// Ahead is how many periods after the current one are created ahead of
	// time (default 3).
	Ahead int
	// RetentionMonths is how many months each kind (vxu, rejected, query,
	// other) is kept; a kind that is missing or 0 is kept forever. A
	// partition is dropped once its whole period is older than that.
	RetentionMonths map[string]int
	// From, if set, has the partitions created from its period on (a
	// bulk load of older messages goes straight into its partitions).
	From time.Time
}

// MessageStoreChange is what one maintenance did.
type MessageStoreChange struct {
	Skipped bool     // another process held the maintenance lock
	Created []string // partitions created (period tables)
	Dropped []string // partitions dropped (kind leaves and emptied period tables)
	// DetachTime is the time the detaches took (the only moments the
	// store's readers and writers may wait); DropTime the drops' (the file
	// system's time to remove the files, waited for by nobody else).
	DetachTime, DropTime time.Duration
	Moved                int64 // rows moved out of the default partitions
	Deleted              int64 // expired rows deleted from the default partitions
}

// span is a half-open time range [from, to).
type span struct{ from, to time.Time }

// periodStart returns the start of the period of policy p containing t (UTC).
func (p MessageStorePolicy) periodStart(t time.Time) time.Time {
	t = t.UTC()
	switch p.Period {
	case "day":
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case "week": // ISO weeks, from Monday
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	default:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
}

// next returns the start of the period after the one starting at start.
func (p MessageStorePolicy) next(start time.Time) time.Time {
	switch p.Period {
	case "day":
		return start.AddDate(0, 0, 1)
	case "week":
		return start.AddDate(0, 0, 7)
	default:
		return start.AddDate(0, 1, 0)
	}
}

// Validate reports a policy that cannot be applied.
func (p MessageStorePolicy) Validate() error {
	switch p.Period {
	case "", "month", "week", "day":
	default:
		return fmt.Errorf("message store: period %q is not month, week or day", p.Period)
	}
	if p.Ahead < 0 {
		return fmt.Errorf("message store: ahead %d is negative", p.Ahead)
	}
	for k, m := range p.RetentionMonths {
		if !slices.Contains(messageKinds, k) {
			return fmt.Errorf("message store: retention of unknown kind %q (kinds: vxu, rejected, query, other)", k)
		}
		if m < 0 {
			return fmt.Errorf("message store: retention of %s is negative", k)
		}
	}
	return nil
}

// horizon returns the time before which kind's partitions are dropped at
// now, and false if the kind is kept forever.
func (p MessageStorePolicy) horizon(kind string, now time.Time) (time.Time, bool) {
	m := p.RetentionMonths[kind]
	if m == 0 {
		return time.Time{}, false
	}
	return now.UTC().AddDate(0, -m, 0), true
}

// MaintainMessageStore creates the partitions of the raw message store
// from the oldest row waiting in a default partition (or now) to Ahead
// periods after now, moving such rows into them, then prunes: it drops the
// kind partitions whose period ended before the kind's horizon (and a
// period table left empty). One process at a time maintains (a session
// advisory lock); another finds it held and returns Skipped. Each
// partition is created or dropped in its own short transaction, with a
// lock timeout, so that the message store is never locked for long.
func (s *Store) MaintainMessageStore(ctx context.Context, p MessageStorePolicy, now time.Time) (MessageStoreChange, error) {
	var ch MessageStoreChange
	if err := p.Validate(); err != nil {
		return ch, err
	}
	if p.Ahead == 0 {
		p.Ahead = 3
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return ch, fmt.Errorf("registry: message store: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(messageStoreLock)).Scan(&locked); err != nil {
		return ch, fmt.Errorf("registry: message store lock: %w", err)
	}
	if !locked {
		ch.Skipped = true
		return ch, nil
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(messageStoreLock))
	}()
	for _, t := range messageStoreTables {
		if err := createPartitions(ctx, conn, t, p, now, &ch); err != nil {
			return ch, err
		}
		if err := prunePartitions(ctx, conn, t, p, now, &ch); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// existingPeriods reads the bounds of table's period partitions.
func existingPeriods(ctx context.Context, conn *pgxpool.Conn, table string) ([]span, error) {
	rows, err := conn.Query(ctx, `SELECT substring(b FROM $$FROM \('([^']+)'\)$$)::timestamptz, substring(b FROM $$TO \('([^']+)'\)$$)::timestamptz
		FROM (SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = $1::regclass) x
		WHERE b <> 'DEFAULT' ORDER BY 1`, table)
	if err != nil {
		return nil, fmt.Errorf("registry: %s partitions: %w", table, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (span, error) {
		var s span
		err := r.Scan(&s.from, &s.to)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: %s partitions: %w", table, err)
	}
	return out, nil
}

// gaps returns the parts of want that none of have covers (have sorted).
func gaps(want span, have []span) []span {
	var out []span
	from := want.from
	for _, h := range have {
		if !h.to.After(from) || !h.from.Before(want.to) {
			continue
		}
		if h.from.After(from) {
			out = append(out, span{from, h.from})
		}
		from = h.to
	}
	if from.Before(want.to) {
		out = append(out, span{from, want.to})
	}
	return out
}

// wantedPeriods returns the periods to create: from the period of the
// oldest row in table's default partition (or of p.From, or of now), not older than every
// kind's horizon, to Ahead periods after now's.
func wantedPeriods(ctx context.Context, conn *pgxpool.Conn, table string, p MessageStorePolicy, now time.Time) ([]span, error) {
	start := now
	var oldest *time.Time
	if err := conn.QueryRow(ctx, `SELECT min(received_at) FROM `+pgx.Identifier{table + "_default"}.Sanitize()).Scan(&oldest); err != nil {
		return nil, fmt.Errorf("registry: %s default partition: %w", table, err)
	}
	if oldest != nil && oldest.Before(start) {
		start = *oldest
	}
	if !p.From.IsZero() && p.From.Before(start) {
		start = p.From
	}
	floor := now
	for _, k := range messageKinds {
		h, ok := p.horizon(k, now)
		if !ok {
			floor = time.Time{}
			break
		}
		floor = minTime(floor, h)
	}
	if start.Before(floor) {
		start = floor // older rows are expired: the prune deletes them
	}
	var out []span
	end := p.periodStart(now)
	for range p.Ahead + 1 {
		end = p.next(end)
	}
	for a := p.periodStart(start); a.Before(end); a = p.next(a) {
		out = append(out, span{a, p.next(a)})
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// createPartitions creates table's missing partitions (see wantedPeriods).
func createPartitions(ctx context.Context, conn *pgxpool.Conn, table string, p MessageStorePolicy, now time.Time, ch *MessageStoreChange) error {
	have, err := existingPeriods(ctx, conn, table)
	if err != nil {
		return err
	}
	want, err := wantedPeriods(ctx, conn, table, p, now)
	if err != nil {
		return err
	}
	for _, w := range want {
		for _, g := range gaps(w, have) {
			name, moved, err := createPartition(ctx, conn, table, g)
			if err != nil {
				return err
			}
			ch.Created = append(ch.Created, name)
			ch.Moved += moved
		}
	}
	return nil
}

// createPartition creates table's partition for period g with one leaf
// per kind, moves the default partition's rows of that period into it and
// attaches it, in one transaction. It returns the partition's name and
// how many rows it moved.
func createPartition(ctx context.Context, conn *pgxpool.Conn, table string, g span) (string, int64, error) {
	name := table + "_p" + g.from.UTC().Format("20060102")
	id := pgx.Identifier{name}.Sanitize()
	stmts := []string{
		`SET LOCAL lock_timeout = '10s'`,
		fmt.Sprintf(`CREATE TABLE %s (LIKE %s) PARTITION BY LIST (kind)`, id, pgx.Identifier{table}.Sanitize()),
	}
	for _, k := range messageKinds {
		bound := fmt.Sprintf(`FOR VALUES IN ('%s')`, k)
		if k == "other" {
			bound = `DEFAULT`
		}
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE %s PARTITION OF %s %s`, pgx.Identifier{name + "_" + k}.Sanitize(), id, bound))
	}
	var moved int64
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, st := range stmts {
			if _, err := tx.Exec(ctx, st); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, fmt.Sprintf(`WITH moved AS (DELETE FROM %s WHERE received_at >= $1 AND received_at < $2 RETURNING *)
			INSERT INTO %s SELECT * FROM moved`, pgx.Identifier{table + "_default"}.Sanitize(), id), g.from, g.to)
		if err != nil {
			return err
		}
		moved = tag.RowsAffected()
		_, err = tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')`,
			pgx.Identifier{table}.Sanitize(), id, g.from.UTC().Format(time.RFC3339), g.to.UTC().Format(time.RFC3339)))
		return err
	})
	if err != nil {
		return name, 0, fmt.Errorf("registry: create partition %s: %w", name, err)
	}
	return name, moved, nil
}

// leaf is one kind partition of a period partition.
type leaf struct {
	period, name, kind string
	span
}

// leaves reads table's kind partitions with their period.
func leaves(ctx context.Context, conn *pgxpool.Conn, table string) ([]leaf, error) {
	rows, err := conn.Query(ctx, `SELECT m.relname, l.relname,
			coalesce(substring(pg_get_expr(l.relpartbound, l.oid) FROM $$IN \('([^']+)'\)$$), 'other'),
			substring(pg_get_expr(m.relpartbound, m.oid) FROM $$FROM \('([^']+)'\)$$)::timestamptz,
			substring(pg_get_expr(m.relpartbound, m.oid) FROM $$TO \('([^']+)'\)$$)::timestamptz
		FROM pg_inherits im JOIN pg_class m ON m.oid = im.inhrelid
		JOIN pg_inherits il ON il.inhparent = m.oid JOIN pg_class l ON l.oid = il.inhrelid
		WHERE im.inhparent = $1::regclass
		ORDER BY 4, 2`, table)
	if err != nil {
		return nil, fmt.Errorf("registry: %s partitions: %w", table, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (leaf, error) {
		var l leaf
		err := r.Scan(&l.period, &l.name, &l.kind, &l.from, &l.to)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: %s partitions: %w", table, err)
	}
	return out, nil
}

// prunePartitions drops table's kind partitions whose whole period is
// older than the kind's horizon, then a period table left without
// partitions, and deletes the expired rows of the default partition
// (rows no partition was created for: few by construction). A partition
// is first detached, in a transaction of its own that changes only the
// catalog: from then on no query sees it. It is dropped afterwards, when
// nothing else waits on it (removing its files takes the file system's
// time, while the drop's transaction holds its locks).
func prunePartitions(ctx context.Context, conn *pgxpool.Conn, table string, p MessageStorePolicy, now time.Time, ch *MessageStoreChange) error {
	if err := dropDetached(ctx, conn, table, ch); err != nil { // left by an interrupted run
		return err
	}
	ls, err := leaves(ctx, conn, table)
	if err != nil {
		return err
	}
	left := map[string]int{}
	for _, l := range ls {
		left[l.period]++
	}
	for _, l := range ls {
		h, ok := p.horizon(l.kind, now)
		if !ok || l.to.After(h) {
			continue
		}
		if err := detach(ctx, conn, l.period, l.name, &l, ch); err != nil {
			return err
		}
		if left[l.period]--; left[l.period] == 0 {
			if err := detach(ctx, conn, table, l.period, nil, ch); err != nil {
				return err
			}
		}
	}
	if err := dropDetached(ctx, conn, table, ch); err != nil {
		return err
	}
	return pruneDefault(ctx, conn, table, p, now, ch)
}

// detach detaches partition name from parent; for a kind partition l, it
// records in the same transaction that l's kind is pruned before the end
// of l's period.
func detach(ctx context.Context, conn *pgxpool.Conn, parent, name string, l *leaf, ch *MessageStoreChange) error {
	t0 := time.Now()
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// A detach locks parent exclusively for a moment; waiting at most
		// 2 s for running statements bounds how long the statements queued
		// behind it wait. A run that times out is retried by the next one.
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+pgx.Identifier{parent}.Sanitize()+` DETACH PARTITION `+pgx.Identifier{name}.Sanitize()); err != nil {
			return err
		}
		if l == nil {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO message_store_pruned (kind, before) VALUES ($1, $2)
			ON CONFLICT (kind) DO UPDATE SET before = greatest(message_store_pruned.before, EXCLUDED.before)`, l.kind, l.to)
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: detach partition %s: %w", name, err)
	}
	ch.DetachTime += time.Since(t0)
	return nil
}

// dropDetached drops table's partitions that were detached (by this run or
// one interrupted before it dropped them).
func dropDetached(ctx context.Context, conn *pgxpool.Conn, table string, ch *MessageStoreChange) error {
	rows, err := conn.Query(ctx, `SELECT relname FROM pg_class
		WHERE relname ~ ('^' || $1 || '_p[0-9]{8}') AND relkind IN ('r', 'p') AND NOT relispartition
		ORDER BY relkind DESC, relname`, table) // kind tables before period tables
	if err != nil {
		return fmt.Errorf("registry: %s detached partitions: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("registry: %s detached partitions: %w", table, err)
	}
	for _, n := range names {
		t0 := time.Now()
		if _, err := conn.Exec(ctx, `DROP TABLE `+pgx.Identifier{n}.Sanitize()); err != nil {
			return fmt.Errorf("registry: drop partition %s: %w", n, err)
		}
		ch.DropTime += time.Since(t0)
		ch.Dropped = append(ch.Dropped, n)
	}
	return nil
}

// pruneDefault deletes the rows of table's default partition older than
// their kind's horizon.
func pruneDefault(ctx context.Context, conn *pgxpool.Conn, table string, p MessageStorePolicy, now time.Time, ch *MessageStoreChange) error {
	for _, k := range messageKinds {
		h, ok := p.horizon(k, now)
		if !ok {
			continue
		}
		cond := `kind = $1`
		if k == "other" {
			cond = `kind NOT IN ('vxu', 'rejected', 'query') AND $1 = 'other'`
		}
		tag, err := conn.Exec(ctx, `DELETE FROM `+pgx.Identifier{table + "_default"}.Sanitize()+` WHERE `+cond+` AND received_at < $2`, k, h)
		if err != nil {
			return fmt.Errorf("registry: prune %s default partition: %w", table, err)
		}
		ch.Deleted += tag.RowsAffected()
	}
	return nil
}
