package registry

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
)

// A dose's detail column is its fields in a fixed order, numbered from 0,
// after the format's version: each field that is not empty is written as
// its number, ':', its value and detailSep (a unit separator, which HL7
// text does not carry: one in a value is stored as a space); empty ones
// take no room. Lists are their length then their elements; times RFC
// 3339 with their offset. Reading it is a scan of one string, several
// times quicker than JSON, for every dose of every answer.
const (
	detailSep     = '\x1f'
	detailVersion = "d2"
	// maxDetailList bounds a list's length as read (a damaged column does
	// not allocate more).
	maxDetailList = 1000
)

type detailWriter struct {
	b   []byte
	idx int
}

func (w *detailWriter) str(s string) {
	if s != "" {
		w.b = strconv.AppendInt(w.b, int64(w.idx), 10)
		w.b = append(w.b, ':')
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == detailSep {
				c = ' '
			}
			w.b = append(w.b, c)
		}
		w.b = append(w.b, detailSep)
	}
	w.idx++
}

func (w *detailWriter) num(n int) {
	if n == 0 {
		w.str("")
		return
	}
	w.str(strconv.Itoa(n))
}

func (w *detailWriter) time(t time.Time) {
	if t.IsZero() {
		w.str("")
		return
	}
	w.str(t.Format(time.RFC3339Nano))
}

func (w *detailWriter) code(c iis.Code) {
	w.str(c.Code)
	w.str(c.Text)
	w.str(c.System)
	w.str(c.AltCode)
	w.str(c.AltText)
	w.str(c.AltSystem)
}

func (w *detailWriter) codes(cs []iis.Code) {
	w.num(len(cs))
	for _, c := range cs {
		w.code(c)
	}
}

func (w *detailWriter) provider(p iis.Provider) {
	w.str(p.ID)
	w.str(p.Family)
	w.str(p.Given)
	w.str(p.Authority)
}

type detailReader struct {
	s   string
	idx int
	err error
}

var errDetail = errors.New("dose detail: malformed")

// str returns field r.idx: the next entry's value if it is that field's,
// else "".
func (r *detailReader) str() string {
	idx := r.idx
	r.idx++
	n, i := 0, 0
	for ; i < len(r.s) && r.s[i] >= '0' && r.s[i] <= '9' && i < 9; i++ {
		n = n*10 + int(r.s[i]-'0')
	}
	if i == 0 || n != idx {
		if i == 0 && r.s != "" {
			r.err = errDetail
		}
		return ""
	}
	if i >= len(r.s) || r.s[i] != ':' {
		r.err = errDetail
		return ""
	}
	j := strings.IndexByte(r.s[i:], detailSep)
	if j < 0 {
		r.err = errDetail
		return ""
	}
	v := r.s[i+1 : i+j]
	r.s = r.s[i+j+1:]
	return v
}

func (r *detailReader) num() int {
	s := r.str()
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil && r.err == nil {
		r.err = errDetail
	}
	return n
}

func (r *detailReader) time() time.Time {
	s := r.str()
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && r.err == nil {
		r.err = err
	}
	return t
}

func (r *detailReader) code() iis.Code {
	return iis.Code{Code: r.str(), Text: r.str(), System: r.str(), AltCode: r.str(), AltText: r.str(), AltSystem: r.str()}
}

func (r *detailReader) codes() []iis.Code {
	n := r.num()
	if n <= 0 || n > maxDetailList {
		return nil
	}
	cs := make([]iis.Code, n)
	for i := range cs {
		cs[i] = r.code()
	}
	return cs
}

func (r *detailReader) provider() iis.Provider {
	return iis.Provider{ID: r.str(), Family: r.str(), Given: r.str(), Authority: r.str()}
}

// encodeDose returns v's detail column: what source_vaccinations' other
// columns do not hold.
func encodeDose(v *iis.Vaccination) string {
	w := detailWriter{b: make([]byte, 0, 128)}
	w.b = append(w.b, detailVersion...)
	w.b = append(w.b, detailSep)
	w.code(v.Vaccine)
	w.time(v.AdministeredEnd)
	w.str(v.PlacerOrder.Value)
	w.str(v.PlacerOrder.Authority)
	w.provider(v.EnteredBy)
	w.provider(v.OrderedBy)
	w.str(v.Amount)
	w.code(v.Units)
	w.code(v.InformationSource)
	w.provider(v.AdministeredBy)
	w.str(v.Facility.Name)
	w.str(v.Facility.ID)
	w.str(v.Facility.IDType)
	w.str(v.Facility.Authority)
	w.num(len(v.Lots))
	for _, l := range v.Lots {
		w.str(l)
	}
	w.time(v.Expiration)
	w.code(v.Manufacturer)
	w.codes(v.RefusalReasons)
	w.time(v.SystemEntry)
	w.code(v.Route)
	w.code(v.Site)
	w.code(v.FundingEligibility)
	w.code(v.EligibilityMethod)
	w.code(v.FundingSource)
	w.num(len(v.VIS))
	for _, x := range v.VIS {
		w.code(x.Document)
		w.code(x.VaccineType)
		w.time(x.Published)
		w.time(x.Presented)
	}
	w.codes(v.Immunity)
	w.codes(v.Contraindications)
	w.codes(v.Reactions)
	w.num(len(v.Observations))
	for _, o := range v.Observations {
		w.num(o.SetID)
		w.str(o.ValueType)
		w.code(o.ID)
		w.str(o.SubID)
		w.code(o.Coded)
		w.str(o.Value)
		w.code(o.Units)
		w.str(o.Status)
		w.time(o.Date)
		w.code(o.Method)
	}
	return string(w.b)
}

// decodeDose fills v from a detail column (” leaves v as it is): the
// values as reported replace those vaccinations derived from the columns.
func decodeDose(s string, v *iis.Vaccination) error {
	if s == "" {
		return nil
	}
	version, rest, _ := strings.Cut(s, string(detailSep))
	if version != detailVersion {
		return errors.New("dose detail: unknown format")
	}
	r := detailReader{s: rest}
	if c := r.code(); !c.IsZero() || c.Text != "" {
		v.Vaccine = c
	}
	v.AdministeredEnd = r.time()
	v.PlacerOrder = iis.Identifier{Value: r.str(), Authority: r.str()}
	v.EnteredBy, v.OrderedBy = r.provider(), r.provider()
	v.Amount, v.Units, v.InformationSource = r.str(), r.code(), r.code()
	v.AdministeredBy = r.provider()
	v.Facility = iis.Organization{Name: r.str(), ID: r.str(), IDType: r.str(), Authority: r.str()}
	if n := r.num(); n > 0 && n <= maxDetailList {
		v.Lots = make([]string, n)
		for i := range v.Lots {
			v.Lots[i] = r.str()
		}
	}
	v.Expiration = r.time()
	if c := r.code(); !c.IsZero() {
		v.Manufacturer = c
	}
	v.RefusalReasons = r.codes()
	v.SystemEntry = r.time()
	v.Route, v.Site = r.code(), r.code()
	v.FundingEligibility, v.EligibilityMethod, v.FundingSource = r.code(), r.code(), r.code()
	v.VIS = nil
	if n := r.num(); n > 0 && n <= maxDetailList {
		v.VIS = make([]iis.VIS, n)
		for i := range v.VIS {
			v.VIS[i] = iis.VIS{Document: r.code(), VaccineType: r.code(), Published: r.time(), Presented: r.time()}
		}
	}
	v.Immunity, v.Contraindications, v.Reactions = r.codes(), r.codes(), r.codes()
	if r.err != nil {
		return r.err
	}
	v.Observations = nil
	if n := r.num(); n > 0 && n <= maxDetailList {
		v.Observations = make([]iis.Observation, n)
		for i := range v.Observations {
			o := &v.Observations[i]
			o.SetID, o.ValueType, o.ID, o.SubID = r.num(), r.str(), r.code(), r.str()
			o.Coded, o.Value, o.Units, o.Status = r.code(), r.str(), r.code(), r.str()
			o.Date, o.Method = r.time(), r.code()
		}
	}
	if r.err == nil && r.s != "" {
		r.err = errDetail // fields left over
	}
	return r.err
}
