package smart

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNoClient is returned for a client id nobody registered.
var ErrNoClient = errors.New("smart: no such client")

// ErrClientExists is returned when registering an id already taken.
var ErrClientExists = errors.New("smart: a client with that id exists")

// Client is a registered backend client.
type Client struct {
	ID         string
	Name       string
	FacilityID string  // the facility (MSH-4) it acts for; empty: statewide
	Scopes     []Scope // the most it may be granted
	JWKS       string  // its public keys as a JWK Set (JSON), or
	JWKSURL    string  // where its JWK Set is published
	Enabled    bool
	CreatedBy  string
	CreatedAt  time.Time
}

// Validate checks what registration requires.
func (c Client) Validate() error {
	switch {
	case c.ID == "" || len(c.ID) > 128:
		return errors.New("a client id of 1 to 128 characters is required")
	case c.Name == "":
		return errors.New("a name is required")
	case len(c.Scopes) == 0:
		return errors.New("at least one scope is required")
	case (c.JWKS == "") == (c.JWKSURL == ""):
		return errors.New("give the client's JWK Set or its URL, one of them")
	}
	if c.JWKS != "" {
		if _, err := parseJWKS([]byte(c.JWKS)); err != nil {
			return err
		}
	}
	return nil
}

// Store keeps clients, seen assertion jtis and issued tokens in
// PostgreSQL (tables smart_*, migration 0045), so that every replica
// accepts a token any of them issued and refuses a jti any of them saw.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns the store on pool (migrated by registry.Open).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Register records a new client.
func (s *Store) Register(ctx context.Context, c Client) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("smart: register client: %w", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO smart_clients (id, name, facility, scopes, jwks, jwks_url, enabled, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, true, $7)`, c.ID, c.Name, c.FacilityID, FormatScopes(c.Scopes), c.JWKS, c.JWKSURL, c.CreatedBy)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrClientExists, c.ID)
	}
	if err != nil {
		return fmt.Errorf("smart: register client: %w", err)
	}
	return nil
}

// SetEnabled enables or disables a client; disabling also revokes the
// tokens it holds.
func (s *Store) SetEnabled(ctx context.Context, id string, enabled bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE smart_clients SET enabled = $2 WHERE id = $1`, id, enabled)
	if err != nil {
		return fmt.Errorf("smart: enable client: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", ErrNoClient, id)
	}
	if !enabled {
		if _, err := s.pool.Exec(ctx, `DELETE FROM smart_tokens WHERE client_id = $1`, id); err != nil {
			return fmt.Errorf("smart: revoke tokens: %w", err)
		}
	}
	return nil
}

const clientColumns = `id, name, facility, scopes, jwks, jwks_url, enabled, created_by, created_at`

func scanClient(row pgx.Row) (Client, error) {
	var c Client
	var scopes string
	if err := row.Scan(&c.ID, &c.Name, &c.FacilityID, &scopes, &c.JWKS, &c.JWKSURL, &c.Enabled, &c.CreatedBy, &c.CreatedAt); err != nil {
		return Client{}, err
	}
	var err error
	c.Scopes, err = ParseScopes(scopes)
	return c, err
}

// Client returns the client registered as id.
func (s *Store) Client(ctx context.Context, id string) (Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM smart_clients WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, fmt.Errorf("%w: %s", ErrNoClient, id)
	}
	if err != nil {
		return Client{}, fmt.Errorf("smart: client: %w", err)
	}
	return c, nil
}

// Clients lists every registered client by name.
func (s *Store) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM smart_clients ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("smart: clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("smart: clients: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UseJTI records that clientID's assertion jti, valid until exp, has
// been used; false if it had been already (a replay). Expired entries are
// pruned on the way.
func (s *Store) UseJTI(ctx context.Context, clientID, jti string, exp time.Time) (bool, error) {
	if _, err := s.pool.Exec(ctx, `DELETE FROM smart_jtis WHERE expires_at < now() - interval '1 minute'`); err != nil {
		return false, fmt.Errorf("smart: prune jtis: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO smart_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		clientID, jti, exp)
	if err != nil {
		return false, fmt.Errorf("smart: record jti: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// SaveToken records an issued access token (only its hash is kept).
func (s *Store) SaveToken(ctx context.Context, token string, g Grant) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM smart_tokens WHERE expires_at < now()`); err != nil {
		return fmt.Errorf("smart: prune tokens: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO smart_tokens (hash, client_id, scopes, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash(token), g.ClientID, FormatScopes(g.Scopes), g.Expires); err != nil {
		return fmt.Errorf("smart: save token: %w", err)
	}
	return nil
}

// ErrBadToken is returned for a token unknown, expired, or of a client
// since disabled.
var ErrBadToken = errors.New("smart: invalid or expired access token")

// Token returns the grant of a live access token.
func (s *Store) Token(ctx context.Context, token string) (Grant, error) {
	var g Grant
	var scopes string
	err := s.pool.QueryRow(ctx, `SELECT c.id, c.name, c.facility, t.scopes, t.expires_at
		FROM smart_tokens t JOIN smart_clients c ON c.id = t.client_id
		WHERE t.hash = $1 AND t.expires_at > now() AND c.enabled`, tokenHash(token)).
		Scan(&g.ClientID, &g.ClientName, &g.FacilityID, &scopes, &g.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return Grant{}, ErrBadToken
	}
	if err != nil {
		return Grant{}, fmt.Errorf("smart: token: %w", err)
	}
	if g.Scopes, err = ParseScopes(scopes); err != nil {
		return Grant{}, fmt.Errorf("smart: token scopes: %w", err)
	}
	return g, nil
}
