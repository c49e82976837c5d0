package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SeedMessages fills a message store with n synthetic messages in SQL, to
// measure the operators' message browser at scale: 50 facilities
// (CLINIC000…CLINIC049), one message every 2.5 s back from now, 2% AR
// (ERR 202 at MSH-11) and 4% AE (ERR 101 at RXA-17 and a 103 warning),
// n/5 patients (family name Fam<k>, identifier MRN<id>) each with one
// dose per accepted message. sample is the raw message stored for every
// one of them (its control id "45646ug" replaced by MSG-<k>).
func SeedMessages(ctx context.Context, pool *pgxpool.Pool, n int, sample []byte) error {
	patients := max(n/5, 1)
	stmts := []string{
		`SET synchronous_commit = off`,
		fmt.Sprintf(`INSERT INTO patients (family_name, given_name, birth_date, sex)
			SELECT 'Fam' || (g %% 20011), 'Given' || (g %% 997), date '2005-01-01' + (g * 37 %% 7300), CASE WHEN g %% 2 = 0 THEN 'F' ELSE 'M' END
			FROM generate_series(1, %d) g`, patients),
		`INSERT INTO patient_identifiers (patient_id, value, authority, type) SELECT id, 'MRN' || id, 'CLINIC' || lpad((id % 50)::text, 3, '0'), 'MR' FROM patients`,
		fmt.Sprintf(`WITH ins AS (INSERT INTO source_reports (facility, control_id, message_type, kind, ack_code, transport, received_at,
				raw_digest, issues, patient_id, match_outcome)
			SELECT 'CLINIC' || lpad((g * 13 %% 50)::text, 3, '0'), 'MSG-' || g, 'VXU',
				CASE WHEN g %% 50 = 0 THEN 'rejected' ELSE 'vxu' END,
				CASE WHEN g %% 50 = 0 THEN 'AR' WHEN g %% 25 IN (1, 2) THEN 'AE' ELSE 'AA' END, 'mllp',
				now() - g * interval '2.5 seconds', sha256(convert_to(replace($1, '45646ug', 'MSG-' || g), 'UTF8')),
				CASE WHEN g %% 50 = 0 THEN ARRAY['E:202:0:MSH-11'] WHEN g %% 25 IN (1, 2) THEN ARRAY['E:101:6:RXA-17', 'W:103:3:RXA-9'] ELSE '{}' END,
				CASE WHEN g %% 50 = 0 THEN NULL ELSE 1 + g %% %d END, CASE WHEN g %% 50 = 0 THEN '' ELSE 'match' END
			FROM generate_series(1, %d) g
			RETURNING id, control_id, received_at, kind)
			INSERT INTO message_bodies (report_id, received_at, kind, raw, ack)
			SELECT id, received_at, kind, convert_to(replace($1, '45646ug', control_id), 'UTF8'),
				convert_to('MSH|^~\&|IIS|IIS|EHR|X|20260101||ACK^V04^ACK|A' || substr(control_id, 5) || '|P|2.5.1' || chr(13) ||
					'MSA|AA|' || control_id || chr(13), 'UTF8')
			FROM ins`, patients, n),
		`INSERT INTO source_vaccinations (report_id, patient_id, facility, control_id, position, received_at, cvx, administered_on, consolidation)
			SELECT id, patient_id, facility, control_id, 1, received_at, '08', received_at::date, 'winner' FROM source_reports WHERE patient_id IS NOT NULL`,
		`ANALYZE`,
		`RESET synchronous_commit`,
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("registry: seed messages: %w", err)
	}
	defer conn.Release()
	for i, s := range stmts {
		var args []any
		if strings.Contains(s, "$1") {
			args = []any{string(sample)}
		}
		if _, err := conn.Exec(ctx, s, args...); err != nil {
			return fmt.Errorf("registry: seed messages, step %d: %w", i, err)
		}
	}
	return nil
}
