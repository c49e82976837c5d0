package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/match"
)

// QueryCandidate is a patient the matcher found for a query.
type QueryCandidate struct {
	PatientID int64
	Score     float64
	// Confident is the matcher's Match outcome (linked automatically had it
	// been a report); otherwise a possible match.
	Confident bool
	// Protected: PD1-12 said Y (protect), the registry status is
	// permanently inactive / opted out, or an opt-out signed by the parent
	// was recorded (RecordOptOut); such a patient is never disclosed.
	Protected bool
	// Record is the patient's demographics and doses when they were read
	// with the candidates (for the patients holding one of the query's
	// identifiers, read in the same round trip); nil otherwise.
	Record *PatientRecord
}

// PatientRecord is what History returns: a patient's demographics (with
// the patient-level observations reported) and consolidated record of
// vaccinations (see Vaccinations).
type PatientRecord struct {
	Patient      iis.Patient
	Vaccinations []iis.Vaccination
}

// FindForQuery scores the registry's patients against a query (QBP QPD)
// with the same matcher and blocking keys as reports use, and returns the
// Match and PossibleMatch candidates, best first.
func (s *Store) FindForQuery(ctx context.Context, q *immz.Query) ([]QueryCandidate, error) {
	p := iis.Patient{
		Identifiers: q.Identifiers, MotherMaidenName: q.MotherMaidenName, BirthDate: q.BirthDate, Sex: q.Sex,
		Addresses: q.Addresses, Phones: q.Phones, MultipleBirth: q.MultipleBirth, BirthOrder: q.BirthOrder,
	}
	if !q.Name.IsZero() {
		p.Names = []iis.Name{q.Name}
	}
	rec := MatchRecord(&p)
	match.Normalize(rec)
	// Deterministic step first: the patients holding one of the query's
	// identifiers (with its assigning authority), with whether they are
	// protected, in one round trip. Only if none of them is a match are the
	// blocking-key candidates scored.
	cands, found, err := s.identifierCandidates(ctx, q.Identifiers)
	if err != nil {
		return nil, err
	}
	out := s.score(rec, cands)
	for i := range out {
		if f, ok := found[out[i].PatientID]; ok {
			out[i].Protected, out[i].Record = f.protected, &f.record
		}
	}
	if anyConfident(out) {
		sortCandidates(out)
		return out, nil
	}
	more, err := s.scoreCandidates(ctx, rec, candidateQuery, match.BlockingKeys(rec), s.cfg.MaxBlock)
	if err != nil {
		return nil, err
	}
	return s.markProtected(ctx, mergeCandidates(out, more))
}

// identifierQuery selects the patients holding identifier $1 of assigning
// authority $2 and type $3 (an empty type matches any), whether each is
// protected, its demographics and its doses. One statement per identifier, with
// scalar parameters: PostgreSQL then estimates its generic plan as it
// estimates a custom one and keeps the prepared plan, where a join on
// unnest of array parameters (estimated at ten rows) was planned again on
// every execution.
const identifierQuery = `SELECT p.id, p.match_record, ` + notDisclosed + `, ` + patientColumns + `, ` + doseColumn + `
	FROM patient_identifiers i JOIN patients p ON p.id = i.patient_id
	WHERE i.value = $1 AND i.authority = $2 AND ($3 = '' OR i.type = $3) AND p.merged_into IS NULL`

// identified is a patient holding one of a query's identifiers.
type identified struct {
	protected bool
	record    PatientRecord
}

// identifierCandidates returns the patients holding one of ids (those
// without an assigning authority are not looked up), each once, with
// their protection and record, in one round trip: a query naming a
// patient by identifier, the usual case, is then answered without
// another.
func (s *Store) identifierCandidates(ctx context.Context, ids []iis.Identifier) ([]candidate, map[int64]*identified, error) {
	var b pgx.Batch
	var cands []candidate
	found := map[int64]*identified{}
	for _, id := range ids {
		if id.Authority == "" {
			continue
		}
		b.Queue(identifierQuery, id.Value, id.Authority, id.Type).Query(func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				var c candidate
				var raw []byte
				var f identified
				if err := s.scanHistory(rows, &f.record, &c.id, &raw, &f.protected); err != nil {
					return err
				}
				if _, ok := found[c.id]; ok {
					continue
				}
				c.rec = &match.Record{}
				if err := json.Unmarshal(raw, c.rec); err != nil {
					return fmt.Errorf("patient %d match record: %w", c.id, err)
				}
				cands = append(cands, c)
				found[c.id] = &f
			}
			return rows.Err()
		})
	}
	if b.Len() == 0 {
		return nil, nil, nil
	}
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return nil, nil, fmt.Errorf("registry: identifier candidates: %w", err)
	}
	return cands, found, nil
}

func anyConfident(cs []QueryCandidate) bool {
	for _, c := range cs {
		if c.Confident {
			return true
		}
	}
	return false
}

func mergeCandidates(a, b []QueryCandidate) []QueryCandidate {
	for _, c := range b {
		if !slices.ContainsFunc(a, func(x QueryCandidate) bool { return x.PatientID == c.PatientID }) {
			a = append(a, c)
		}
	}
	return a
}

// scoreCandidates runs a candidate query (id, match_record rows) and keeps
// the Match and PossibleMatch candidates.
func (s *Store) scoreCandidates(ctx context.Context, rec *match.Record, sql string, args ...any) ([]QueryCandidate, error) {
	var b pgx.Batch
	b.Queue(sql, args...)
	br := s.pool.SendBatch(ctx, &b)
	cands, err := readCandidates(br)
	br.Close()
	if err != nil {
		return nil, err
	}
	return s.score(rec, cands), nil
}

// score keeps the Match and PossibleMatch candidates.
func (s *Store) score(rec *match.Record, cands []candidate) []QueryCandidate {
	var out []QueryCandidate
	for i := range cands {
		c := &cands[i]
		match.Normalize(c.rec)
		r := s.m.Compare(rec, c.rec)
		switch r.Outcome {
		case match.Match:
			out = append(out, QueryCandidate{PatientID: c.id, Score: r.Score, Confident: true})
		case match.PossibleMatch:
			out = append(out, QueryCandidate{PatientID: c.id, Score: r.Score})
		}
	}
	return out
}

// sortCandidates orders candidates best first: confident ones, then by
// score, then by id.
func sortCandidates(out []QueryCandidate) {
	slices.SortFunc(out, func(a, b QueryCandidate) int {
		if a.Confident != b.Confident {
			if a.Confident {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.PatientID, b.PatientID)
	})
}

// markProtected sorts the candidates best first and marks those whose data
// may not be disclosed.
func (s *Store) markProtected(ctx context.Context, out []QueryCandidate) ([]QueryCandidate, error) {
	sortCandidates(out)
	if len(out) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(out))
	for i, c := range out {
		ids[i] = c.PatientID
	}
	rows, err := s.pool.Query(ctx, `SELECT p.id FROM patients p WHERE p.id = ANY($1) AND `+notDisclosed, ids)
	if err != nil {
		return nil, fmt.Errorf("registry: protection: %w", err)
	}
	protected, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("registry: protection: %w", err)
	}
	for i := range out {
		out[i].Protected = slices.Contains(protected, out[i].PatientID)
	}
	return out, nil
}

// Patient returns a patient's demographics as the registry holds them:
// the latest reported values, every identifier, name, address and phone
// reported, and the guardians.
func (s *Store) Patient(ctx context.Context, id int64) (iis.Patient, error) {
	var p iis.Patient
	var b pgx.Batch
	s.queuePatient(&b, id, &p)
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return p, fmt.Errorf("registry: patient %d: %w", id, err)
	}
	return p, nil
}

// Patients returns the demographics of several patients, as Patient does,
// in one round trip.
func (s *Store) Patients(ctx context.Context, ids []int64) (map[int64]iis.Patient, error) {
	ps := make([]iis.Patient, len(ids))
	var b pgx.Batch
	for i, id := range ids {
		s.queuePatient(&b, id, &ps[i])
	}
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return nil, fmt.Errorf("registry: patients: %w", err)
	}
	out := make(map[int64]iis.Patient, len(ids))
	for i, id := range ids {
		out[id] = ps[i]
	}
	return out, nil
}

// History returns a patient's demographics, patient-level observations
// and consolidated vaccinations (see Vaccinations) in one statement.
func (s *Store) History(ctx context.Context, id int64) (iis.Patient, []iis.Vaccination, error) {
	var r PatientRecord
	var b pgx.Batch
	b.Queue(`SELECT `+patientColumns+`, `+doseColumn+` FROM patients p WHERE p.id = $1`, id).QueryRow(func(row pgx.Row) error {
		return s.scanHistory(row, &r)
	})
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return r.Patient, nil, fmt.Errorf("registry: history of %d: %w", id, err)
	}
	return r.Patient, r.Vaccinations, nil
}

// patientColumns are a patient's demographics with every identifier,
// name, address, phone and guardian (of patients p): each child table
// comes as a two-dimensional text array (a row per element), so that a
// patient is read with one statement instead of six. scanPatient reads
// them.
const patientColumns = `p.family_name, p.given_name, p.middle_name, p.suffix, p.birth_date, p.sex, p.multiple_birth, p.birth_order,
		p.mother_maiden_family, p.mother_maiden_given, p.death_date, p.protection, p.protection_date, p.publicity_code, p.publicity_date,
		p.registry_status, p.registry_status_date, p.races, p.ethnicities, p.death_indicator, p.primary_language,
		ARRAY(SELECT ARRAY[value, authority, type] FROM patient_identifiers WHERE patient_id = p.id ORDER BY authority, type, value),
		ARRAY(SELECT ARRAY[family, given, middle, suffix, type] FROM patient_names WHERE patient_id = p.id ORDER BY reported_at DESC, type, family, given),
		ARRAY(SELECT ARRAY[street, other, city, state, zip, country, county, type] FROM patient_addresses WHERE patient_id = p.id ORDER BY reported_at DESC, street),
		ARRAY(SELECT ARRAY[number, email, use, equipment] FROM patient_phones WHERE patient_id = p.id ORDER BY number),
		ARRAY(SELECT ARRAY[family, given, relationship, phone, phone_use, phone_equipment, detail] FROM patient_guardians WHERE patient_id = p.id ORDER BY family, given),
		ARRAY(SELECT detail FROM patient_observations WHERE patient_id = p.id ORDER BY report_id, seq)`

const patientQuery = `SELECT ` + patientColumns + ` FROM patients p WHERE p.id = $1`

// queuePatient queues the query that fills p.
func (s *Store) queuePatient(b *pgx.Batch, id int64, p *iis.Patient) {
	b.Queue(patientQuery, id).QueryRow(func(row pgx.Row) error {
		return scanPatient(row, p, nil)
	})
}

// scanPatient scans a row made of first, patientColumns and last: the
// patient columns into p, the others into the given destinations. The
// columns are scanned into pgtype values, whose scan plans pgx finds
// without reflection.
func scanPatient(row pgx.Row, p *iis.Patient, first []any, last ...any) error {
	var legal iis.Name
	var dob, death, protDate, pubDate, statusDate pgtype.Date
	var birthOrder pgtype.Int4
	var publicity, races, ethnicities string
	var ids, names, addrs, phones, guardians, observations pgtype.Array[string]
	dest := append(first[:len(first):len(first)], &legal.Family, &legal.Given, &legal.Middle, &legal.Suffix, &dob, &p.Sex, &p.MultipleBirth,
		&birthOrder, &p.MotherMaidenName.Family, &p.MotherMaidenName.Given, &death, &p.Protection, &protDate, &publicity, &pubDate,
		&p.RegistryStatus, &statusDate, &races, &ethnicities, &p.DeathIndicator, &p.PrimaryLanguage.Code, &ids, &names, &addrs, &phones, &guardians, &observations)
	dest = append(dest, last...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	for _, t := range [...]struct {
		a     *pgtype.Array[string]
		width int32
	}{{&ids, 3}, {&names, 5}, {&addrs, 8}, {&phones, 4}, {&guardians, 7}} {
		if len(t.a.Elements) > 0 && (len(t.a.Dims) != 2 || t.a.Dims[1].Length != t.width) {
			return fmt.Errorf("unexpected array dimensions %v", t.a.Dims)
		}
	}
	legal.Type = "L"
	p.BirthOrder = int(birthOrder.Int32)
	if !p.MotherMaidenName.IsZero() {
		p.MotherMaidenName.Type = "M"
	}
	p.BirthDate, p.DeathDate, p.ProtectionDate, p.PublicityDate, p.RegistryStatusDate = date(dob), date(death), date(protDate), date(pubDate), date(statusDate)
	if publicity != "" {
		p.PublicityCode = iis.Code{Code: publicity, System: "HL70215"}
	}
	for x := range tableRows(&ids, 3) {
		p.Identifiers = append(p.Identifiers, iis.Identifier{Value: x[0], Authority: x[1], Type: x[2]})
	}
	p.Names = patientNames(legal, &names)
	for x := range tableRows(&addrs, 8) {
		a := iis.Address{Street: x[0], Other: x[1], City: x[2], State: x[3], Zip: x[4], Country: x[5], County: x[6], Type: x[7]}
		// Latest first: a variant differing only in letter case from one
		// already listed is the same address.
		if !slices.ContainsFunc(p.Addresses, func(b iis.Address) bool { return sameAddress(a, b) }) {
			p.Addresses = append(p.Addresses, a)
		}
	}
	for x := range tableRows(&phones, 4) {
		ph := phoneNumber(x[0], x[2], x[3])
		ph.Email = x[1]
		p.Phones = append(p.Phones, ph)
	}
	for x := range tableRows(&guardians, 7) {
		if x[6] != "" { // as reported
			g, err := decodeGuardian(x[6])
			if err != nil {
				return err
			}
			p.Guardians = append(p.Guardians, g)
			continue
		}
		g := iis.Guardian{Name: iis.Name{Family: x[0], Given: x[1]}, Relationship: iis.Code{Code: x[2]}}
		if x[3] != "" {
			g.Phones = []iis.Phone{phoneNumber(x[3], x[4], x[5])}
		}
		p.Guardians = append(p.Guardians, g)
	}
	var err error
	if p.Races, err = decodeCodes(races); err != nil {
		return err
	}
	if p.Ethnicities, err = decodeCodes(ethnicities); err != nil {
		return err
	}
	for _, d := range observations.Elements {
		o, err := decodeObservation(d)
		if err != nil {
			return err
		}
		p.Observations = append(p.Observations, o)
	}
	return nil
}

// patientNames lists the legal name first, then the other names reported,
// latest first (names holds patientColumns' names in that order): the
// latest legal name reported, when one differs from the stored one only
// in letter case, is the one given; a name differing from one already
// listed only in letter case is left out.
func patientNames(legal iis.Name, names *pgtype.Array[string]) []iis.Name {
	out := make([]iis.Name, 0, 1+len(names.Elements)/5)
	for x := range tableRows(names, 5) {
		n := iis.Name{Family: x[0], Given: x[1], Middle: x[2], Suffix: x[3], Type: x[4]}
		if n.Type == "L" && sameName(n, legal) {
			legal = n
			break
		}
	}
	out = append(out, legal)
	for x := range tableRows(names, 5) {
		n := iis.Name{Family: x[0], Given: x[1], Middle: x[2], Suffix: x[3], Type: x[4]}
		if !slices.ContainsFunc(out, func(m iis.Name) bool { return sameName(n, m) && (n.Type == m.Type || m == legal) }) {
			out = append(out, n)
		}
	}
	return out
}

func sameName(a, b iis.Name) bool {
	return strings.EqualFold(a.Family, b.Family) && strings.EqualFold(a.Given, b.Given) &&
		strings.EqualFold(a.Middle, b.Middle) && strings.EqualFold(a.Suffix, b.Suffix)
}

func sameAddress(a, b iis.Address) bool {
	return strings.EqualFold(a.Street, b.Street) && strings.EqualFold(a.Other, b.Other) && strings.EqualFold(a.City, b.City) &&
		strings.EqualFold(a.State, b.State) && strings.EqualFold(a.Zip, b.Zip) && strings.EqualFold(a.Country, b.Country) &&
		strings.EqualFold(a.County, b.County) && a.Type == b.Type
}

// phoneNumber is a stored phone number (digits: area code and local
// number) as an XTN, with its use and equipment codes.
func phoneNumber(number, use, equipment string) iis.Phone {
	ph := iis.Phone{Use: use, Equipment: equipment}
	if len(number) == 10 {
		ph.Area, ph.Local = number[:3], number[3:]
	} else {
		ph.Local = number
	}
	return ph
}

// tableRows yields the rows of a two-dimensional text array of the given
// width (one of patientQuery's child tables), each as a slice of its
// elements.
func tableRows(a *pgtype.Array[string], width int) iter.Seq[[]string] {
	return func(yield func([]string) bool) {
		for i := 0; i+width <= len(a.Elements); i += width {
			if !yield(a.Elements[i : i+width : i+width]) {
				return
			}
		}
	}
}

func date(d pgtype.Date) time.Time {
	if !d.Valid {
		return time.Time{}
	}
	return d.Time
}

// Vaccinations returns a patient's consolidated vaccination events, each
// with the details of the report that won it as reported, and the
// standing refusals, doses not administered and 998 records (each once),
// in date order.
func (s *Store) Vaccinations(ctx context.Context, id int64) ([]iis.Vaccination, error) {
	var doses pgtype.Array[string]
	if err := s.pool.QueryRow(ctx, `SELECT `+doseColumn+` FROM patients p WHERE p.id = $1`, id).Scan(&doses); err != nil {
		return nil, fmt.Errorf("registry: vaccinations of %d: %w", id, err)
	}
	vs, err := s.vaccinations(&doses)
	if err != nil {
		return nil, fmt.Errorf("registry: vaccinations of %d: %w", id, err)
	}
	return vs, nil
}

// doseColumn is a patient's (p's) consolidated vaccination events, each
// with the details of the report that won it, and the reports that are no
// event (refusals, doses not administered, 998 records of immunity), in
// date order, as a two-dimensional text array read by vaccinations: CVX,
// the date as days since 2000-01-01, lot, MVX, historical (true/false),
// filler order, completion status, facility, NDC, detail, and the id of
// the event (the id of the report that won it) or of the report.
const doseColumn = `ARRAY(SELECT ARRAY[x.cvx, (x.d - DATE '2000-01-01')::text, x.lot, x.mvx, x.historical::text,
			x.filler, x.completion, x.facility, x.ndc, x.detail, x.id::text]
		FROM (SELECT e.cvx, e.administered_on AS d, e.id, e.lot, e.mvx, e.historical,
				coalesce(v.filler_order, '') AS filler, coalesce(v.completion_status, 'CP') AS completion,
				coalesce(v.facility, '') AS facility, coalesce(v.ndc, '') AS ndc, coalesce(v.detail, '') AS detail
			FROM vaccination_events e LEFT JOIN source_vaccinations v ON v.id = e.id
			WHERE e.patient_id = p.id
			UNION ALL
			SELECT n.cvx, n.administered_on, n.id, n.lot, n.mvx, n.historical, n.filler_order, n.completion_status, n.facility, n.ndc, n.detail
			FROM source_vaccinations n
			WHERE n.patient_id = p.id AND n.consolidation = 'not_event' AND n.administered_on IS NOT NULL) x
		ORDER BY x.d, x.id)`

// scanHistory scans a row made of first, patientColumns and doseColumn:
// the patient and doses into r, the first columns into first.
func (s *Store) scanHistory(row pgx.Row, r *PatientRecord, first ...any) error {
	var doses pgtype.Array[string]
	if err := scanPatient(row, &r.Patient, first, &doses); err != nil {
		return err
	}
	var err error
	r.Vaccinations, err = s.vaccinations(&doses)
	return err
}

var epoch2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// vaccinations reads doseColumn.
func (s *Store) vaccinations(doses *pgtype.Array[string]) ([]iis.Vaccination, error) {
	vs, _, err := s.vaccinationsWithIDs(doses, false)
	return vs, err
}

// vaccinationsWithIDs reads doseColumn, and when withIDs each dose's id.
func (s *Store) vaccinationsWithIDs(doses *pgtype.Array[string], withIDs bool) ([]iis.Vaccination, []int64, error) {
	const width = 11
	if len(doses.Elements) == 0 {
		return nil, nil, nil
	}
	if len(doses.Dims) != 2 || doses.Dims[1].Length != width {
		return nil, nil, fmt.Errorf("unexpected dose array dimensions %v", doses.Dims)
	}
	var ids []int64
	if withIDs {
		ids = make([]int64, len(doses.Elements)/width)
	}
	codes := s.cfg.Codes
	if codes == nil {
		codes = codeset.Default()
	}
	vs := make([]iis.Vaccination, len(doses.Elements)/width)
	i := 0
	seen := map[string]bool{}
	for e := range tableRows(doses, width) {
		days, err := strconv.Atoi(e[1])
		if err != nil {
			return nil, nil, fmt.Errorf("dose date %q: %w", e[1], err)
		}
		v := &vs[i]
		*v = iis.Vaccination{} // a skipped repetition may have filled it
		i++
		v.Position = i
		v.CVX, v.AdministeredAt, v.Historical, v.CompletionStatus, v.NDC = e[0], epoch2000.AddDate(0, 0, days), e[4] == "true", e[6], e[8]
		v.Vaccine = iis.Code{Code: v.CVX, System: "CVX"}
		if vac, ok := codes.Vaccine(v.CVX); ok {
			v.Vaccine.Text = vac.ShortName
		}
		if lot := e[2]; lot != "" {
			v.Lots = []string{lot}
		}
		if mvx := e[3]; mvx != "" {
			v.Manufacturer = iis.Code{Code: mvx, System: "MVX"}
		}
		// filler_order is stored as value^namespace (ORC-3.1 and 3.2); a
		// report without a namespace is the sending facility's.
		value, ns, _ := strings.Cut(e[5], "^")
		if ns == "" {
			ns = e[7]
		}
		v.FillerOrder = iis.Identifier{Value: value, Authority: ns}
		v.InformationSource = iis.Code{Code: "00", Text: "New immunization record", System: "NIP001"}
		if v.Historical {
			v.InformationSource = iis.Code{Code: "01", Text: "Historical information - source unspecified", System: "NIP001"}
		}
		v.Action = "A"
		if err := decodeDose(e[9], v); err != nil {
			return nil, nil, err
		}
		if withIDs {
			if ids[i-1], err = strconv.ParseInt(e[10], 10, 64); err != nil {
				return nil, nil, fmt.Errorf("dose id %q: %w", e[10], err)
			}
		}
		if notEvent(v) {
			// The same refusal or record of immunity reported again (by
			// another clinic, or resent) is given once.
			k := notEventKey(v)
			if seen[k] {
				i--
				continue
			}
			seen[k] = true
		}
	}
	if withIDs {
		ids = ids[:i]
	}
	return vs[:i], ids, nil
}

// notEvent reports whether v is a refusal, a dose not administered or a
// 998 record (no vaccine administered) rather than a dose.
func notEvent(v *iis.Vaccination) bool {
	return v.CompletionStatus == "RE" || v.CompletionStatus == "NA" || v.CVX == codeset.CVXNoVaccineAdministered
}

func notEventKey(v *iis.Vaccination) string {
	var b strings.Builder
	b.WriteString(v.CVX + "|" + v.NDC + "|" + v.AdministeredAt.Format(time.DateOnly) + "|" + v.CompletionStatus)
	for _, cs := range [...][]iis.Code{v.RefusalReasons, v.Immunity, v.Contraindications} {
		b.WriteByte('|')
		for _, c := range cs {
			b.WriteString(c.Code + "," + c.AltCode + ";")
		}
	}
	return b.String()
}

// Disclosure is one disclosure of a patient's data to a facility: the
// accounting of disclosures the law asks for.
type Disclosure struct {
	At        time.Time
	Facility  string
	PatientID int64
	What      string
}

// RecordDisclosures writes disclosures to the audit log in one
// transaction: callers batch concurrent disclosures so that they share one
// commit (and one fsync).
func (s *Store) RecordDisclosures(ctx context.Context, ds []Disclosure) error {
	return recordDisclosures(ctx, s.pool, ds)
}

func recordDisclosures(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, ds []Disclosure) error {
	at := make([]time.Time, len(ds))
	actor := make([]string, len(ds))
	pid := make([]int64, len(ds))
	what := make([]string, len(ds))
	for i, d := range ds {
		at[i], actor[i], pid[i], what[i] = d.At, "facility:"+d.Facility, d.PatientID, d.What
	}
	_, err := db.Exec(ctx, `INSERT INTO audit_log (at, actor, action, patient_id, detail)
		SELECT a, b, 'disclose', c, d FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::text[]) AS t(a, b, c, d)`,
		at, actor, pid, what)
	if err != nil {
		return fmt.Errorf("registry: audit disclosures: %w", err)
	}
	return nil
}

// Disclosures lists the disclosures of a patient's data, newest first.
func (s *Store) Disclosures(ctx context.Context, patientID int64) ([]Disclosure, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, actor, patient_id, detail FROM audit_log
		WHERE patient_id = $1 AND action = 'disclose' ORDER BY at DESC, id DESC`, patientID)
	if err != nil {
		return nil, fmt.Errorf("registry: disclosures: %w", err)
	}
	defer rows.Close()
	var out []Disclosure
	for rows.Next() {
		var d Disclosure
		var actor string
		if err := rows.Scan(&d.At, &actor, &d.PatientID, &d.What); err != nil {
			return nil, fmt.Errorf("registry: disclosures: %w", err)
		}
		d.Facility = strings.TrimPrefix(actor, "facility:")
		out = append(out, d)
	}
	return out, rows.Err()
}
