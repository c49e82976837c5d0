package forecast

// Compiled, indexed form of the CDC supporting data. Built once by New and
// never modified afterwards, so an Engine is safe for concurrent use.

const maxCVX = 1024 // CVX codes are numbers below 1000
const maxObs = 512  // CDSi observation codes are numbers below 512

// cvxSet is a bit set of CVX codes.
type cvxSet [maxCVX / 64]uint64

func (s *cvxSet) add(c int)      { s[c>>6] |= 1 << (uint(c) & 63) }
func (s *cvxSet) has(c int) bool { return c >= 0 && c < maxCVX && s[c>>6]&(1<<(uint(c)&63)) != 0 }
func (s *cvxSet) empty() bool    { return *s == cvxSet{} }

// obsSet is a bit set of CDSi observation codes.
type obsSet [maxObs / 64]uint64

func (s *obsSet) add(c int)      { s[c>>6] |= 1 << (uint(c) & 63) }
func (s *obsSet) has(c int) bool { return c > 0 && c < maxObs && s[c>>6]&(1<<(uint(c)&63)) != 0 }

type seriesType uint8

const (
	seriesStandard seriesType = iota
	seriesRisk
	seriesEvaluationOnly
)

type genderMask uint8

const (
	gFemale genderMask = 1 << iota
	gMale
	gUnknown
	gTransgender
)

type ageRule struct {
	absMin, min, earliestRec, latestRec, max span
	eff, cess                                Date
}

type intervalRule struct {
	fromPrevious   bool
	fromTarget     int // 1-based target dose number, 0 if none
	fromMostRecent cvxSet
	hasMostRecent  bool
	fromObs        int // observation code, 0 if none
	fromObsText    string
	absMin, min    span
	earliestRec    span
	latestRec      span
	override       bool
	eff, cess      Date
}

type vaccineRule struct {
	cvx        int
	name       string
	begin, end span
	mvx        string
	forecast   bool
}

type condKind uint8

const (
	condAge condKind = iota
	condInterval
	condCountByAge
	condCountByDate
	condCountByDateAndAge
	condCompletedSeries
	condUnknown
)

type countLogic uint8

const (
	countGreater countLogic = iota
	countEqual
	countLess
)

type condition struct {
	kind             condKind
	start, end       Date
	beginAge, endAge span
	interval         span
	count            int
	validOnly        bool
	logic            countLogic
	cvx              cvxSet
	anyCVX           bool // no vaccine types listed: every vaccine counts
	groups           []int
}

type skipSet struct {
	desc      string
	eff, cess Date
	or        bool // conditionLogic OR (default AND)
	conds     []condition
}

type skipRule struct {
	evaluation, forecast bool
	and                  bool // setLogic AND (default OR)
	sets                 []skipSet
}

type seriesDose struct {
	number      int
	ages        []ageRule
	intervals   []intervalRule
	allowInts   []intervalRule
	preferable  []vaccineRule
	allowable   []vaccineRule
	inadvertent cvxSet
	skips       []skipRule
	recurring   bool
	seasonStart Date
	seasonEnd   Date
	liveCVX     int // first preferable vaccine with live-virus conflicts, -1 if none
}

type indication struct {
	code       int
	desc       string
	begin, end span
}

type series struct {
	name         string
	antigen      int
	vaccineGroup string
	typ          seriesType
	group        int
	priority     byte // 'A', 'B', 'C'
	preference   int
	isDefault    bool
	product      bool
	minStart     span
	maxStart     span
	gender       genderMask
	indications  []indication
	equivalent   []int
	doses        []seriesDose
	vaccines     cvxSet   // every preferable or allowable vaccine of any dose
	dueReasons   []string // "dose N of <series> is due", built once
	validReasons []string // "counts as dose N of <series>"
	// validAllowReasons is the same for an allowable (not preferable) vaccine.
	validAllowReasons []string
}

type contraindication struct {
	code       int
	title      string
	text       string
	begin, end span
	cvx        []vaccineRule // for vaccine-level contraindications
}

type immunityDOB struct {
	before     Date
	country    string
	exclusions []int
}

type antigen struct {
	name            string
	series          []*series // ordered by series group, then file order
	immunityCodes   []int
	immunityDOB     []immunityDOB
	groupContra     []contraindication
	vaccineContra   []contraindication
	vaccineGroupIdx int
	// twin is an earlier antigen of the same vaccine group whose series
	// have the same rules, names aside, for every vaccine but those in
	// twinDiffer (diphtheria, tetanus and pertussis; measles, mumps and
	// rubella): for a patient with no dose of those vaccines and the same
	// antigen doses, it evaluates and selects alike, so a forecast reuses
	// its runs. -1 if none.
	twin       int
	twinDiffer cvxSet
}

type vaccineGroup struct {
	name     string
	full     bool // administerFullVaccineGroup
	antigens []int
}

type cvxAssoc struct {
	antigen    int
	begin, end span
}

type liveConflict struct {
	prev               int
	begin, minEnd, end span
}
