// Package synth makes synthetic immunization traffic: VXU^V04 messages for
// fictional children vaccinated on the US childhood schedule, as clinics'
// EHRs would send them, with a known share of resends, duplicate reports
// from a second clinic and malformed messages. It drives load tests, the
// crash tests and benchmarks. Everything is generated from a seed, so a run
// can be repeated exactly. No real person's data is used.
package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/iisproject/iis/hl7"
)

// Kind says what a generated message is meant to exercise.
type Kind uint8

const (
	// Valid is a well-formed VXU that should be accepted (AA).
	Valid Kind = iota
	// Resend repeats an earlier message byte for byte (same MSH-10): the
	// receiver must store it once.
	Resend
	// OtherClinic reports a dose already reported by another clinic, as
	// historical: the registry must consolidate it into the same event.
	OtherClinic
	// Malformed breaks one rule (missing birth date, unknown CVX, wrong
	// version, not HL7 at all): it must not be answered AA.
	Malformed
)

func (k Kind) String() string {
	return [...]string{"valid", "resend", "other-clinic", "malformed"}[k]
}

// Message is one generated message.
type Message struct {
	Kind      Kind
	Facility  string
	ControlID string
	Body      []byte // CR-terminated segments
}

// Config configures a Generator.
type Config struct {
	Seed          uint64
	Facilities    int       // distinct sending clinics (default 20)
	ResendRate    float64   // share of exact resends (default 0.01)
	OtherRate     float64   // share of second-clinic reports (default 0.01)
	MalformedRate float64   // share of malformed messages (default 0.01)
	Now           time.Time // the day the traffic is sent (default 2026-11-25)
}

// Generator produces messages; it is not safe for concurrent use.
type Generator struct {
	cfg  Config
	rng  *rand.Rand
	seq  int
	sent []*Message // recent valid messages, for resends and other-clinic reports
	w    *hl7.Writer
}

// New returns a Generator.
func New(cfg Config) *Generator {
	if cfg.Facilities <= 0 {
		cfg.Facilities = 20
	}
	if cfg.ResendRate == 0 && cfg.OtherRate == 0 && cfg.MalformedRate == 0 {
		cfg.ResendRate, cfg.OtherRate, cfg.MalformedRate = 0.01, 0.01, 0.01
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	}
	return &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), w: hl7.NewWriter(hl7.DefaultDelimiters)}
}

// Next returns the next message.
func (g *Generator) Next() *Message {
	r := g.rng.Float64()
	switch {
	case r < g.cfg.ResendRate && len(g.sent) > 0:
		prev := g.sent[g.rng.IntN(len(g.sent))]
		return &Message{Kind: Resend, Facility: prev.Facility, ControlID: prev.ControlID, Body: prev.Body}
	case r < g.cfg.ResendRate+g.cfg.OtherRate && len(g.sent) > 0:
		return g.otherClinic(g.sent[g.rng.IntN(len(g.sent))])
	case r < g.cfg.ResendRate+g.cfg.OtherRate+g.cfg.MalformedRate:
		return g.malformed()
	}
	m := g.visit(g.newPatient(), g.facility())
	g.remember(m)
	return m
}

// Take returns n messages.
func (g *Generator) Take(n int) []*Message {
	out := make([]*Message, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func (g *Generator) remember(m *Message) {
	if len(g.sent) < 1000 {
		g.sent = append(g.sent, m)
	} else {
		g.sent[g.rng.IntN(len(g.sent))] = m
	}
}

func (g *Generator) facility() string {
	return fmt.Sprintf("CLINIC%03d", g.rng.IntN(g.cfg.Facilities)+1)
}

func (g *Generator) controlID(fac string) string {
	g.seq++
	return fac + "-" + strconv.FormatUint(g.cfg.Seed, 36) + "-" + strconv.Itoa(g.seq)
}

// patient is a fictional child.
type patient struct {
	mrn, family, given, middle, sex string
	motherFamily, motherGiven       string
	dob                             time.Time
	street, city, zip               string
	area, phone                     string
	race, ethnicity                 string
}

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *Generator) newPatient() *patient {
	p := &patient{sex: "F"}
	first := girls
	if g.rng.IntN(2) == 0 {
		p.sex, first = "M", boys
	}
	p.given, p.middle = g.pick(first), g.pick(first)
	p.family = g.pick(families)
	p.motherFamily, p.motherGiven = g.pick(families), g.pick(girls)
	// Children from birth to six years.
	p.dob = g.cfg.Now.AddDate(0, 0, -g.rng.IntN(6*365+1)).Truncate(24 * time.Hour)
	p.mrn = fmt.Sprintf("SYN%09d", g.rng.IntN(1e9))
	c := g.rng.IntN(len(cities))
	p.city, p.zip = cities[c][0], cities[c][1]
	p.street = fmt.Sprintf("%d %s", g.rng.IntN(9899)+100, g.pick(streets))
	p.area, p.phone = "860", fmt.Sprintf("555%04d", g.rng.IntN(10000))
	p.race = g.pick([]string{"2106-3", "2054-5", "2028-9", "1002-5", "2131-1"})
	p.ethnicity = g.pick([]string{"2186-5", "2135-2"})
	return p
}

// dose is one vaccine given at a visit.
type dose struct {
	cvx, name, mvx, lot string
	date                time.Time
	historical          bool
}

// visit writes a VXU for the doses due at the child's most recent visit on
// the schedule, with any earlier doses as historical records.
func (g *Generator) visit(p *patient, fac string) *Message {
	age := g.cfg.Now.Sub(p.dob)
	var doses []dose
	for _, s := range schedule {
		due := p.dob.AddDate(0, s.months, 0)
		if due.After(g.cfg.Now) {
			continue
		}
		recent := g.cfg.Now.Sub(due) < 45*24*time.Hour
		if !recent && g.rng.IntN(4) != 0 { // most earlier doses were reported before
			continue
		}
		d := dose{cvx: s.cvx, name: s.name, mvx: s.mvx, lot: fmt.Sprintf("L%05d", g.rng.IntN(100000)), date: g.cfg.Now, historical: !recent}
		if d.historical {
			d.date = due
		}
		doses = append(doses, d)
	}
	if len(doses) == 0 || age < 0 {
		doses = append(doses, dose{cvx: "08", name: "Hep B, adolescent or pediatric", mvx: "MSD", lot: "HB0001", date: g.cfg.Now})
	}
	if len(doses) > 6 {
		doses = doses[len(doses)-6:]
	}
	return g.write(p, fac, doses, "")
}

func (g *Generator) write(p *patient, fac string, doses []dose, breakRule string) *Message {
	w := g.w
	w.Reset()
	id := g.controlID(fac)
	version := "2.5.1"
	if breakRule == "version" {
		version = "2.3.1"
	}
	w.Segment("MSH")
	w.Fields("SynEHR", fac, "IIS", "STATE", g.cfg.Now.Format("20060102150405-0700"), "")
	w.Field("VXU", "V04", "VXU_V04")
	w.Fields(id, "P", version, "", "", "ER", "AL", "", "", "", "")
	w.Field("Z22", "CDCPHINVS")
	w.Segment("PID")
	w.Fields("1", "")
	w.Field(p.mrn, "", "", fac, "MR")
	w.Fields("")
	w.Field(p.family, p.given, p.middle, "", "", "", "L")
	w.Field(p.motherFamily, p.motherGiven, "", "", "", "", "M")
	if breakRule == "dob" {
		w.Fields("")
	} else {
		w.Fields(p.dob.Format("20060102"))
	}
	w.Fields(p.sex, "")
	w.Field(p.race, "", "CDCREC")
	w.Field(p.street, "", p.city, "CT", p.zip, "USA", "L")
	w.Fields("")
	w.Field("", "PRN", "PH", "", "", p.area, p.phone)
	for range 8 {
		w.Field()
	}
	w.Field(p.ethnicity, "", "CDCREC")
	w.Segment("PD1")
	for range 10 {
		w.Field()
	}
	w.Field("02", "Reminder/Recall - any method", "HL70215")
	w.Fields("N", p.dob.Format("20060102"), "", "", "A", p.dob.Format("20060102"), p.dob.Format("20060102"))
	w.Segment("NK1")
	w.Fields("1")
	w.Field(p.family, p.motherGiven, "", "", "", "", "L")
	w.Field("MTH", "Mother", "HL70063")
	for i, d := range doses {
		w.Segment("ORC")
		w.Fields("RE", "")
		w.Field(fmt.Sprintf("%s-%d", id, i+1), fac)
		cvx := d.cvx
		if breakRule == "cvx" && i == 0 {
			cvx = "987"
		}
		w.Segment("RXA")
		date := d.date
		if date.IsZero() {
			date = g.cfg.Now
		}
		w.Fields("0", "1", date.Format("20060102"), "")
		w.Field(cvx, d.name, "CVX")
		if d.historical {
			w.Fields("999", "", "")
			w.Field("01", "Historical information - source unspecified", "NIP001")
			continue
		}
		w.Fields("0.5")
		w.Field("mL", "milliliter", "UCUM")
		w.Fields("")
		w.Field("00", "New immunization record", "NIP001")
		w.Fields("", "", "", "", "", d.lot, g.cfg.Now.AddDate(1, 0, 0).Format("20060102"))
		w.Field(d.mvx, "", "MVX")
		w.Fields("", "", "CP", "A")
		w.Segment("RXR")
		w.Field("C28161", "Intramuscular", "NCIT")
		w.Field("LA", "Left Arm", "HL70163")
		w.Segment("OBX")
		w.Fields("1", "CE")
		w.Field("64994-7", "Vaccine funding program eligibility category", "LN")
		w.Fields("1")
		w.Field("V02", "VFC eligible - Medicaid/Medicaid Managed Care", "HL70064")
		w.Fields("", "", "", "", "", "F", "", "", g.cfg.Now.Format("20060102"), "", "")
		w.Field("VXC40", "Eligibility captured at the immunization level", "CDCPHINVS")
	}
	body := append([]byte(nil), w.Bytes()...)
	kind := Valid
	if breakRule != "" {
		kind = Malformed
	}
	return &Message{Kind: kind, Facility: fac, ControlID: id, Body: body}
}

func (g *Generator) malformed() *Message {
	p, fac := g.newPatient(), g.facility()
	switch g.rng.IntN(4) {
	case 0:
		return g.write(p, fac, []dose{{cvx: "08", name: "Hep B", mvx: "MSD", lot: "X1"}}, "dob")
	case 1:
		return g.write(p, fac, []dose{{cvx: "08", name: "Hep B", mvx: "MSD", lot: "X1"}}, "cvx")
	case 2:
		return g.write(p, fac, []dose{{cvx: "08", name: "Hep B", mvx: "MSD", lot: "X1"}}, "version")
	}
	return &Message{Kind: Malformed, Facility: fac, ControlID: "", Body: []byte("this is not an HL7 message\r")}
}

// otherClinic reports prev's patient and doses again from another clinic,
// as historical doses.
func (g *Generator) otherClinic(prev *Message) *Message {
	m, err := hl7.Parse(prev.Body)
	if err != nil {
		return g.malformed()
	}
	fac := g.facility()
	for fac == prev.Facility && g.cfg.Facilities > 1 {
		fac = g.facility()
	}
	w := g.w
	w.Reset()
	id := g.controlID(fac)
	for _, s := range m.Segments() {
		switch {
		case s.Is("MSH"):
			w.Segment("MSH")
			w.Fields("SynEHR", fac, "IIS", "STATE", g.cfg.Now.Format("20060102150405-0700"), "")
			w.Field("VXU", "V04", "VXU_V04")
			w.Fields(id, "P", "2.5.1", "", "", "ER", "AL", "", "", "", "")
			w.Field("Z22", "CDCPHINVS")
		case s.Is("RXA"):
			w.Segment("RXA")
			for f := 1; f <= 5; f++ {
				w.Value(s.Field(f))
			}
			w.Fields("999", "", "")
			w.Field("01", "Historical information - source unspecified", "NIP001")
		case s.Is("ORC"):
			w.Segment("ORC")
			w.Fields("RE", "")
			w.Field(id+"-"+s.Field(3).Comp(1).String(), fac)
		case s.Is("RXR"), s.Is("OBX"):
			// Historical reports carry no route or eligibility.
		default:
			w.CopySegment(s)
		}
	}
	return &Message{Kind: OtherClinic, Facility: fac, ControlID: id, Body: append([]byte(nil), w.Bytes()...)}
}

// schedule is the routine childhood schedule (ACIP, simplified to one
// product per dose): months of age, CVX, manufacturer.
var schedule = []struct {
	months    int
	cvx, name string
	mvx       string
}{
	{0, "08", "Hep B, adolescent or pediatric", "MSD"},
	{2, "20", "DTaP", "PMC"}, {2, "17", "Hib, unspecified formulation", "MSD"}, {2, "133", "Pneumococcal conjugate PCV 13", "PFR"}, {2, "10", "IPV", "PMC"}, {2, "116", "Rotavirus, pentavalent", "MSD"}, {2, "08", "Hep B, adolescent or pediatric", "MSD"},
	{4, "20", "DTaP", "PMC"}, {4, "17", "Hib, unspecified formulation", "MSD"}, {4, "133", "Pneumococcal conjugate PCV 13", "PFR"}, {4, "10", "IPV", "PMC"}, {4, "116", "Rotavirus, pentavalent", "MSD"},
	{6, "20", "DTaP", "PMC"}, {6, "133", "Pneumococcal conjugate PCV 13", "PFR"}, {6, "116", "Rotavirus, pentavalent", "MSD"}, {6, "08", "Hep B, adolescent or pediatric", "MSD"}, {6, "150", "Influenza, injectable, quadrivalent, preservative free", "SKB"},
	{12, "03", "MMR", "MSD"}, {12, "21", "Varicella", "MSD"}, {12, "83", "Hep A, ped/adol, 2 dose", "MSD"}, {12, "17", "Hib, unspecified formulation", "MSD"}, {12, "133", "Pneumococcal conjugate PCV 13", "PFR"},
	{15, "20", "DTaP", "PMC"}, {18, "83", "Hep A, ped/adol, 2 dose", "MSD"}, {18, "150", "Influenza, injectable, quadrivalent, preservative free", "SKB"},
	{30, "150", "Influenza, injectable, quadrivalent, preservative free", "SKB"},
	{48, "20", "DTaP", "PMC"}, {48, "10", "IPV", "PMC"}, {48, "03", "MMR", "MSD"}, {48, "21", "Varicella", "MSD"},
	{54, "150", "Influenza, injectable, quadrivalent, preservative free", "SKB"},
}

// Invented name lists (common given names and family names); any
// resemblance to a real person is chance.
var (
	girls    = []string{"Olivia", "Emma", "Ava", "Sophia", "Mia", "Amelia", "Harper", "Evelyn", "Abigail", "Emily", "Ella", "Lily", "Grace", "Chloe", "Zoe", "Nora", "Riley", "Aria", "Layla", "Maya", "Sofia", "Camila", "Elena", "Naomi", "Ruby"}
	boys     = []string{"Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry", "Theodore", "Jack", "Levi", "Mateo", "Owen", "Ethan", "Samuel", "Caleb", "Isaac", "Julian", "Ezra", "Miles", "Adrian", "Leo", "Hudson", "Wyatt"}
	families = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Kowalski", "Okafor", "Haddad", "Novak", "Lindqvist"}
	streets  = []string{"Main St", "Oak Ave", "Maple Dr", "Elm St", "Park Rd", "Cedar Ln", "Pine St", "Washington Ave", "Lake Rd", "Hill St", "River Rd", "Church St", "Franklin Ave", "Prospect St", "Asylum Ave"}
	cities   = [][2]string{{"Hartford", "06103"}, {"New Haven", "06510"}, {"Stamford", "06901"}, {"Bridgeport", "06604"}, {"Waterbury", "06702"}, {"Norwalk", "06850"}, {"Danbury", "06810"}, {"New Britain", "06051"}, {"Bristol", "06010"}, {"Meriden", "06450"}, {"Middletown", "06457"}, {"Norwich", "06360"}}
)
