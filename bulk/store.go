package bulk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned for a Group or export that does not exist.
var ErrNotFound = errors.New("bulk: not found")

// Group is a Group a client manages: a named list of patients.
type Group struct {
	ID         string
	ClientID   string // the client that manages it
	FacilityID string // the facility the client acts for (empty: statewide)
	Name       string
	Members    []int64 // patient ids, ascending
	Updated    time.Time
}

// Store keeps Groups and export jobs in PostgreSQL (tables fhir_groups,
// fhir_group_members, bulk_exports, bulk_export_chunks; migration 0046).
type Store struct{ pool *pgxpool.Pool }

// NewStore returns the store on pool (migrated by registry.Open).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

func newID(prefix string) (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bulk: id: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// CreateGroup stores g under a new id, which it returns.
func (s *Store) CreateGroup(ctx context.Context, g Group) (string, error) {
	id, err := newID("g")
	if err != nil {
		return "", err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO fhir_groups (id, client_id, facility, name) VALUES ($1, $2, $3, $4)`,
			id, g.ClientID, g.FacilityID, g.Name); err != nil {
			return err
		}
		return insertMembers(ctx, tx, id, g.Members)
	})
	if err != nil {
		return "", fmt.Errorf("bulk: create group: %w", err)
	}
	return id, nil
}

func insertMembers(ctx context.Context, tx pgx.Tx, id string, members []int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO fhir_group_members (group_id, patient_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`,
		id, members)
	return err
}

// ReplaceGroup sets the name and members of Group g.ID, managed by
// g.ClientID.
func (s *Store) ReplaceGroup(ctx context.Context, g Group) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE fhir_groups SET name = $3, updated_at = now() WHERE id = $1 AND client_id = $2`, g.ID, g.ClientID, g.Name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if _, err := tx.Exec(ctx, `DELETE FROM fhir_group_members WHERE group_id = $1 AND NOT patient_id = ANY($2)`, g.ID, g.Members); err != nil {
			return err
		}
		return insertMembers(ctx, tx, g.ID, g.Members)
	})
	if err != nil {
		return fmt.Errorf("bulk: update group %s: %w", g.ID, err)
	}
	return nil
}

// DeleteGroup removes Group id, managed by clientID.
func (s *Store) DeleteGroup(ctx context.Context, id, clientID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM fhir_groups WHERE id = $1 AND client_id = $2`, id, clientID)
	if err != nil {
		return fmt.Errorf("bulk: delete group %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("bulk: delete group %s: %w", id, ErrNotFound)
	}
	return nil
}

// Group returns Group id with its members.
func (s *Store) Group(ctx context.Context, id string) (Group, error) {
	var g Group
	err := s.pool.QueryRow(ctx, `SELECT id, client_id, facility, name, updated_at,
		coalesce((SELECT array_agg(patient_id ORDER BY patient_id) FROM fhir_group_members WHERE group_id = g.id), '{}')
		FROM fhir_groups g WHERE id = $1`, id).Scan(&g.ID, &g.ClientID, &g.FacilityID, &g.Name, &g.Updated, &g.Members)
	if errors.Is(err, pgx.ErrNoRows) {
		return Group{}, fmt.Errorf("bulk: group %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Group{}, fmt.Errorf("bulk: group %s: %w", id, err)
	}
	return g, nil
}

// Groups returns the Groups clientID manages, by name.
func (s *Store) Groups(ctx context.Context, clientID string) ([]Group, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM fhir_groups WHERE client_id = $1 ORDER BY name, id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("bulk: groups: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("bulk: groups: %w", err)
	}
	out := make([]Group, 0, len(ids))
	for _, id := range ids {
		g, err := s.Group(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}
