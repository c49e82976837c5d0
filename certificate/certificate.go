// Package certificate makes the registry's official immunization
// certificate: a printable PDF (US Letter) for school, childcare, camp and
// college that lists a person's name and birth date, every dose given
// (vaccine and date) grouped by vaccine group, any evidence of immunity and
// permanent exemption, who issued it and when, and a certificate id. The
// certificate carries a SMART Health Card QR code: a signed FHIR bundle of
// the patient and the doses that any SMART Health Card verifier checks
// against the issuer's published keys ([Keys], served at
// /.well-known/jwks.json).
//
// The package only formats and signs: the caller (a page of the web
// interface) reads the consolidated record from the registry, decides who
// may see it, and records the issuance if it must.
package certificate

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
)

// Record is what a certificate shows: the person, their consolidated doses,
// and evidence of immunity and permanent exemptions.
type Record struct {
	Patient iis.Patient
	// Doses are the consolidated vaccinations. Only doses given are shown:
	// refusals (RXA-20 RE), doses not administered (NA), deleted reports
	// (RXA-21 D), "no vaccine administered" (CVX 998) and doses without a
	// date are left out. Partially administered doses (PA) are shown as such.
	Doses      []iis.Vaccination
	Immunities []Immunity
	Exemptions []Exemption
}

// Immunity is evidence of immunity to a disease (the IG's OBX 59784-9).
type Immunity struct {
	Disease string    // SNOMED CT code of the EVIDENCE_OF_IMMUNITY table, e.g. 38907003 (varicella)
	Text    string    // what to print; empty: the code table's display
	Date    time.Time // when it was documented
	Source  string    // who documented it, e.g. "Physician diagnosis", "Laboratory evidence"
}

// Exemption is a permanent exemption from a vaccine group.
type Exemption struct {
	Kind         string    // e.g. "Medical (permanent)", "Religious"
	VaccineGroup string    // CDC vaccine group as in the codeset, e.g. "MMR", "DTAP"
	Date         time.Time // when it was granted
}

// IssuedBy names who issues a certificate.
type IssuedBy struct {
	Organization string // the user's organization, e.g. a practice or a school
	User         string // the user's name
}

// Certificate is one issued certificate.
type Certificate struct {
	ID       string    // printed on every page, e.g. "7K3M-9Q2D-X4TB"
	IssuedAt time.Time // also the health card's nbf
	PDF      []byte
	// HealthCard is the SMART Health Card (compact JWS) the QR code holds,
	// and QR the QR code's text ("shc:/" and digits). A card too long for
	// any QR code (a record of well over a hundred doses) has no QR: the
	// certificate then says the card is available as a file (the JWS, to
	// be offered as a .smart-health-card download).
	HealthCard string
	QR         string
}

// Config configures an Issuer.
type Config struct {
	Keys *Keys // signs the health cards; required
	// IssuerURL is the health cards' iss: the base URL under which
	// /.well-known/jwks.json serves Keys, without a trailing slash.
	IssuerURL string
	// Registry is the registry's name, printed under the title, e.g.
	// "Connecticut Immunization Information System".
	Registry string
	Codes    *codeset.Set     // vaccine names and groups; nil: codeset.Default()
	Location *time.Location   // time zone of the issuance time; nil: time.Local
	Now      func() time.Time // nil: time.Now
}

// Issuer makes certificates. It is safe for concurrent use.
type Issuer struct {
	cfg       Config
	deflaters sync.Pool // *flate.Writer
}

// NewIssuer checks cfg and returns an Issuer.
func NewIssuer(cfg Config) (*Issuer, error) {
	if cfg.Keys == nil {
		return nil, errors.New("certificate: no health card keys")
	}
	cfg.IssuerURL = strings.TrimRight(cfg.IssuerURL, "/")
	if !strings.HasPrefix(cfg.IssuerURL, "https://") && !strings.HasPrefix(cfg.IssuerURL, "http://") {
		return nil, fmt.Errorf("certificate: issuer URL %q: want an http(s) URL", cfg.IssuerURL)
	}
	if cfg.Registry == "" {
		cfg.Registry = "Immunization Information System"
	}
	if cfg.Codes == nil {
		cfg.Codes = codeset.Default()
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Issuer{cfg: cfg}, nil
}

// Issue makes the certificate of rec, issued now by by.
func (is *Issuer) Issue(rec Record, by IssuedBy) (*Certificate, error) {
	if rec.Patient.LegalName().IsZero() {
		return nil, errors.New("certificate: the patient has no name")
	}
	if rec.Patient.BirthDate.IsZero() {
		return nil, errors.New("certificate: the patient has no birth date")
	}
	if by.Organization == "" || by.User == "" {
		return nil, errors.New("certificate: the issuing organization and user are required")
	}
	id, err := is.newID()
	if err != nil {
		return nil, err
	}
	c := &Certificate{ID: id, IssuedAt: is.cfg.Now().Truncate(time.Second)}
	shown := ShownDoses(rec.Doses)
	if c.HealthCard, err = is.signCard(c.IssuedAt, &rec.Patient, shown); err != nil {
		return nil, err
	}
	c.QR = EncodeQR(c.HealthCard)
	qr, err := qrPNG(c.QR)
	if errors.Is(err, errQRTooLong) {
		// Over a hundred doses: the card is still valid as a file, the
		// certificate says so instead of showing a QR code.
		qr, c.QR = nil, ""
	} else if err != nil {
		return nil, err
	}
	doc := document{
		cert: c, rec: &rec, by: by, registry: is.cfg.Registry,
		groups:     is.groupDoses(shown),
		immunities: is.immunityLines(rec.Immunities),
		exemptions: exemptionLines(rec.Exemptions),
		issuedAt:   c.IssuedAt.In(is.cfg.Location),
		qrPNG:      qr,
	}
	if c.PDF, err = doc.render(); err != nil {
		return nil, err
	}
	return c, nil
}

// crockford is Crockford's base 32: no I, L, O, U, easy to read aloud.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newID returns a random certificate id of 12 base-32 characters (60
// bits) in three groups.
func (is *Issuer) newID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("certificate id: %w", err)
	}
	var s strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(crockford[x&31])
	}
	return s.String(), nil
}

// ShownDoses returns the doses a certificate shows, by date (then CVX):
// doses given, with a date, neither refused, not administered, deleted, nor
// CVX 998.
func ShownDoses(doses []iis.Vaccination) []iis.Vaccination {
	out := make([]iis.Vaccination, 0, len(doses))
	for _, d := range doses {
		switch {
		case d.CompletionStatus == "RE", d.CompletionStatus == "NA",
			d.Action == "D",
			d.CVX == codeset.CVXNoVaccineAdministered,
			d.AdministeredAt.IsZero():
			continue
		}
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b iis.Vaccination) int {
		return cmp.Or(a.AdministeredAt.Compare(b.AdministeredAt), cmp.Compare(a.CVX, b.CVX))
	})
	return out
}

// ImmunitiesFrom collects the evidence of immunity reported in a record:
// patient-level OBX 59784-9 and those of the vaccination groups (an RXA of
// CVX 998 with an immunity OBX), dated as reported.
func ImmunitiesFrom(p *iis.Patient, doses []iis.Vaccination) []Immunity {
	var out []Immunity
	for _, o := range p.Observations {
		if o.ID.Code == loincImmunity && !o.Coded.IsZero() {
			out = append(out, Immunity{Disease: o.Coded.Code, Text: o.Coded.Text, Date: o.Date})
		}
	}
	for _, d := range doses {
		if d.Action == "D" {
			continue
		}
		for _, c := range d.Immunity {
			im := Immunity{Disease: c.Code, Text: c.Text, Date: d.AdministeredAt, Source: d.Facility.Name}
			out = append(out, im)
		}
	}
	return out
}

const loincImmunity = "59784-9"
