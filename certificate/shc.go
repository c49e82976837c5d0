package certificate

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/iisproject/iis"
)

// SMART Health Card constants (https://spec.smarthealth.cards).
const (
	// TypeHealthCard and TypeImmunization are the card's vc.type.
	TypeHealthCard   = "https://smarthealth.cards#health-card"
	TypeImmunization = "https://smarthealth.cards#immunization"
	// QRPrefix starts the text of a health card QR code.
	QRPrefix = "shc:/"
	// MaxSingleQRJWS is the longest JWS that fits the QR code version 22
	// at error correction L, the largest the spec asks issuers to print.
	MaxSingleQRJWS = 1195

	fhirVersion = "4.0.1"
	cvxSystem   = "http://hl7.org/fhir/sid/cvx"
)

// The card's payload, minimal as the spec asks: only what a verifier needs,
// empty fields left out.
type (
	shcPayload struct {
		Iss string `json:"iss"`
		Nbf int64  `json:"nbf"`
		VC  shcVC  `json:"vc"`
	}
	shcVC struct {
		Type              []string      `json:"type"`
		CredentialSubject shcCredential `json:"credentialSubject"`
	}
	shcCredential struct {
		FHIRVersion string     `json:"fhirVersion"`
		FHIRBundle  fhirBundle `json:"fhirBundle"`
	}
	fhirBundle struct {
		ResourceType string        `json:"resourceType"`
		Type         string        `json:"type"`
		Entry        []bundleEntry `json:"entry"`
	}
	bundleEntry struct {
		FullURL  string `json:"fullUrl"`
		Resource any    `json:"resource"`
	}
	fhirPatient struct {
		ResourceType string      `json:"resourceType"`
		Name         []humanName `json:"name,omitempty"`
		BirthDate    string      `json:"birthDate,omitempty"`
	}
	humanName struct {
		Family string   `json:"family,omitempty"`
		Given  []string `json:"given,omitempty"`
	}
	fhirImmunization struct {
		ResourceType       string          `json:"resourceType"`
		Status             string          `json:"status"`
		VaccineCode        codeableConcept `json:"vaccineCode"`
		Patient            reference       `json:"patient"`
		OccurrenceDateTime string          `json:"occurrenceDateTime"`
		IsSubpotent        bool            `json:"isSubpotent,omitempty"`
		LotNumber          string          `json:"lotNumber,omitempty"`
		Performer          []performer     `json:"performer,omitempty"`
	}
	codeableConcept struct {
		Coding []fhirCoding `json:"coding"`
	}
	fhirCoding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	reference struct {
		Reference string `json:"reference"`
	}
	performer struct {
		Actor display `json:"actor"`
	}
	display struct {
		Display string `json:"display"`
	}
)

// HealthCard is a decoded, verified SMART Health Card.
type HealthCard struct {
	Issuer    string
	NotBefore time.Time
	Types     []string
	KeyID     string
	Patient   CardPatient
	Doses     []CardDose
}

// CardPatient is the patient of a health card.
type CardPatient struct {
	Family    string
	Given     []string
	BirthDate string // YYYY-MM-DD
}

// CardDose is one Immunization of a health card.
type CardDose struct {
	CVX         string
	Date        string // YYYY-MM-DD
	LotNumber   string
	Performer   string
	IsSubpotent bool
}

// cardBundle builds the FHIR Bundle of the patient and the doses shown
// (those with a CVX code). detail adds each dose's lot number and performer.
func cardBundle(p *iis.Patient, doses []iis.Vaccination, detail bool) fhirBundle {
	n := p.LegalName()
	pat := fhirPatient{ResourceType: "Patient"}
	if !n.IsZero() {
		hn := humanName{Family: n.Family}
		for _, g := range []string{n.Given, n.Middle} {
			if g != "" {
				hn.Given = append(hn.Given, g)
			}
		}
		pat.Name = []humanName{hn}
	}
	if !p.BirthDate.IsZero() {
		pat.BirthDate = p.BirthDate.Format(time.DateOnly)
	}
	b := fhirBundle{ResourceType: "Bundle", Type: "collection", Entry: []bundleEntry{{FullURL: "resource:0", Resource: pat}}}
	for i := range doses {
		d := &doses[i]
		if d.CVX == "" {
			continue
		}
		im := fhirImmunization{
			ResourceType:       "Immunization",
			Status:             "completed",
			VaccineCode:        codeableConcept{Coding: []fhirCoding{{System: cvxSystem, Code: d.CVX}}},
			Patient:            reference{Reference: "resource:0"},
			OccurrenceDateTime: d.AdministeredAt.Format(time.DateOnly),
			IsSubpotent:        d.CompletionStatus == "PA",
		}
		if detail {
			if len(d.Lots) > 0 {
				im.LotNumber = d.Lots[0]
			}
			if d.Facility.Name != "" {
				im.Performer = []performer{{Actor: display{Display: d.Facility.Name}}}
			}
		}
		b.Entry = append(b.Entry, bundleEntry{FullURL: "resource:" + strconv.Itoa(len(b.Entry)), Resource: im})
	}
	return b
}

// signCard makes the card's JWS: the minimal JSON payload, DEFLATE raw
// compressed, signed ES256 with zip DEF and kid the key's thumbprint. When
// the detailed card is too long for one QR code (MaxSingleQRJWS), it is
// made again without lot numbers and performers.
func (is *Issuer) signCard(nbf time.Time, p *iis.Patient, doses []iis.Vaccination) (string, error) {
	var jws string
	for _, detail := range []bool{true, false} {
		pl := shcPayload{
			Iss: is.cfg.IssuerURL,
			Nbf: nbf.Unix(),
			VC: shcVC{
				Type:              []string{TypeHealthCard, TypeImmunization},
				CredentialSubject: shcCredential{FHIRVersion: fhirVersion, FHIRBundle: cardBundle(p, doses, detail)},
			},
		}
		var err error
		if jws, err = is.signPayload(pl); err != nil {
			return "", err
		}
		if len(jws) <= MaxSingleQRJWS {
			break
		}
	}
	return jws, nil
}

func (is *Issuer) signPayload(pl shcPayload) (string, error) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(pl); err != nil {
		return "", fmt.Errorf("health card payload: %w", err)
	}
	z, err := is.deflate(bytes.TrimSuffix(js.Bytes(), []byte("\n")))
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: is.cfg.Keys.signer},
		(&jose.SignerOptions{}).WithHeader("zip", "DEF"))
	if err != nil {
		return "", fmt.Errorf("health card signer: %w", err)
	}
	obj, err := signer.Sign(z)
	if err != nil {
		return "", fmt.Errorf("health card signature: %w", err)
	}
	return obj.CompactSerialize()
}

// deflate compresses raw with DEFLATE (no zlib header) at the best
// compression, reusing compressors: each holds about a megabyte.
func (is *Issuer) deflate(raw []byte) ([]byte, error) {
	var z bytes.Buffer
	fw, _ := is.deflaters.Get().(*flate.Writer)
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(&z, flate.BestCompression); err != nil {
			return nil, fmt.Errorf("health card deflate: %w", err)
		}
	} else {
		fw.Reset(&z)
	}
	if _, err := fw.Write(raw); err != nil {
		return nil, fmt.Errorf("health card deflate: %w", err)
	}
	if err := fw.Close(); err != nil {
		return nil, fmt.Errorf("health card deflate: %w", err)
	}
	is.deflaters.Put(fw)
	return z.Bytes(), nil
}

// EncodeQR returns the text of a health card's QR code: "shc:/" then each
// character of the JWS as two digits, its code minus 45.
func EncodeQR(jws string) string {
	var b strings.Builder
	b.Grow(len(QRPrefix) + 2*len(jws))
	b.WriteString(QRPrefix)
	for i := 0; i < len(jws); i++ {
		v := int(jws[i]) - 45
		b.WriteByte(byte('0' + v/10))
		b.WriteByte(byte('0' + v%10))
	}
	return b.String()
}

// DecodeQR returns the JWS of a health card QR code's text ("shc:/" and
// digit pairs). Multi-part codes ("shc:/1/2/...", deprecated by the spec)
// are refused.
func DecodeQR(text string) (string, error) {
	digits, ok := strings.CutPrefix(text, QRPrefix)
	if !ok {
		return "", fmt.Errorf("health card QR: does not start with %q", QRPrefix)
	}
	if strings.Contains(digits, "/") {
		return "", errors.New("health card QR: chunked (multi-part) codes are not supported")
	}
	if len(digits) == 0 || len(digits)%2 != 0 {
		return "", fmt.Errorf("health card QR: %d digits, want a positive even number", len(digits))
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		hi, lo := digits[2*i], digits[2*i+1]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return "", fmt.Errorf("health card QR: non-digit at position %d", len(QRPrefix)+2*i)
		}
		v := int(hi-'0')*10 + int(lo-'0')
		if v > 'z'-45 {
			return "", fmt.Errorf("health card QR: pair %02d at position %d is past 'z'", v, len(QRPrefix)+2*i)
		}
		out[i] = byte(v + 45)
	}
	return string(out), nil
}

// maxCardPayload bounds the inflated payload a verifier accepts: a QR code
// holds under 3 kB of JWS, so more is a compression bomb, not a card.
const maxCardPayload = 1 << 20

// VerifyCard checks a health card JWS against the issuer's keys (its JWKS)
// and returns the card. It checks the signature (ES256, the kid's key), the
// zip header, the card types and the FHIR bundle's shape.
func VerifyCard(jws string, jwks jose.JSONWebKeySet) (*HealthCard, error) {
	obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("health card: %w", err)
	}
	h := obj.Signatures[0].Protected
	if zip, _ := h.ExtraHeaders["zip"].(string); zip != "DEF" {
		return nil, fmt.Errorf("health card: zip header %q, want DEF", zip)
	}
	keys := jwks.Key(h.KeyID)
	if h.KeyID == "" || len(keys) == 0 {
		return nil, fmt.Errorf("health card: key %q is not among the issuer's keys", h.KeyID)
	}
	z, err := obj.Verify(keys[0].Public())
	if err != nil {
		return nil, fmt.Errorf("health card signature: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), maxCardPayload+1))
	if err != nil {
		return nil, fmt.Errorf("health card inflate: %w", err)
	}
	if len(raw) > maxCardPayload {
		return nil, errors.New("health card: payload inflates past 1 MiB")
	}
	return parseCard(raw, h.KeyID)
}

// parseCard reads a verified payload.
func parseCard(raw []byte, kid string) (*HealthCard, error) {
	var pl struct {
		Iss string  `json:"iss"`
		Nbf float64 `json:"nbf"`
		VC  struct {
			Type              []string `json:"type"`
			CredentialSubject struct {
				FHIRVersion string `json:"fhirVersion"`
				FHIRBundle  struct {
					ResourceType string `json:"resourceType"`
					Entry        []struct {
						FullURL  string          `json:"fullUrl"`
						Resource json.RawMessage `json:"resource"`
					} `json:"entry"`
				} `json:"fhirBundle"`
			} `json:"credentialSubject"`
		} `json:"vc"`
	}
	if err := json.Unmarshal(raw, &pl); err != nil {
		return nil, fmt.Errorf("health card payload: %w", err)
	}
	card := &HealthCard{Issuer: pl.Iss, NotBefore: time.Unix(int64(pl.Nbf), 0).UTC(), Types: pl.VC.Type, KeyID: kid}
	if card.Issuer == "" {
		return nil, errors.New("health card: no iss")
	}
	if !slices.Contains(pl.VC.Type, TypeHealthCard) {
		return nil, fmt.Errorf("health card: vc.type %q lacks %s", pl.VC.Type, TypeHealthCard)
	}
	if rt := pl.VC.CredentialSubject.FHIRBundle.ResourceType; rt != "Bundle" {
		return nil, fmt.Errorf("health card: fhirBundle is a %q", rt)
	}
	for i, e := range pl.VC.CredentialSubject.FHIRBundle.Entry {
		if err := card.addResource(e.Resource); err != nil {
			return nil, fmt.Errorf("health card entry %d: %w", i, err)
		}
	}
	return card, nil
}

func (c *HealthCard) addResource(raw json.RawMessage) error {
	var r struct {
		ResourceType string      `json:"resourceType"`
		Name         []humanName `json:"name"`
		BirthDate    string      `json:"birthDate"`
		VaccineCode  struct {
			Coding []fhirCoding `json:"coding"`
		} `json:"vaccineCode"`
		OccurrenceDateTime string      `json:"occurrenceDateTime"`
		IsSubpotent        bool        `json:"isSubpotent"`
		LotNumber          string      `json:"lotNumber"`
		Performer          []performer `json:"performer"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	switch r.ResourceType {
	case "Patient":
		if len(r.Name) > 0 {
			c.Patient.Family, c.Patient.Given = r.Name[0].Family, r.Name[0].Given
		}
		c.Patient.BirthDate = r.BirthDate
	case "Immunization":
		d := CardDose{Date: r.OccurrenceDateTime, LotNumber: r.LotNumber, IsSubpotent: r.IsSubpotent}
		for _, cd := range r.VaccineCode.Coding {
			if cd.System == cvxSystem {
				d.CVX = cd.Code
			}
		}
		if len(r.Performer) > 0 {
			d.Performer = r.Performer[0].Actor.Display
		}
		c.Doses = append(c.Doses, d)
	default:
		return fmt.Errorf("unexpected resource %q", r.ResourceType)
	}
	return nil
}
