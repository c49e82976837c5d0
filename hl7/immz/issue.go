package immz

import (
	"strconv"
	"strings"
)

// Severity is HL7 table 0516 (ERR-4).
type Severity byte

const (
	Error       Severity = 'E'
	Warning     Severity = 'W'
	Information Severity = 'I'
)

func (s Severity) String() string { return string(rune(s)) }

// HL7 table 0357, message error condition codes (ERR-3).
const (
	CodeAccepted            = 0
	CodeSegmentSequence     = 100 // also "required segment missing" in the IG's examples
	CodeRequiredFieldMiss   = 101
	CodeDataType            = 102
	CodeTableValueNotFound  = 103
	CodeUnsupportedMsgType  = 200
	CodeUnsupportedEvent    = 201
	CodeUnsupportedProcID   = 202
	CodeUnsupportedVersion  = 203
	CodeApplicationInternal = 207
	// CodeApplicationError (999) is not in HL7 table 0357; NIST's test plan
	// and AIRA's ACK guidance use it for business-rule violations, with the
	// detail in ERR-5 (CDC table 0533). We do the same.
	CodeApplicationError = 999
)

// CDC table 0533, application error codes (ERR-5).
const (
	AppIllogicalDate       = 1
	AppInvalidDate         = 2
	AppIllogicalValue      = 3
	AppInvalidValue        = 4
	AppTableValueNotFound  = 5
	AppRequiredObservation = 6
	AppRequiredData        = 7
	AppDataIgnored         = 8
)

// Scope says how much of the message an error rejects.
type Scope uint8

const (
	// ScopeField: the value is ignored or corrected; everything else is kept.
	ScopeField Scope = iota
	// ScopeSegment: the segment is not stored (e.g. an NK1 with no relationship).
	ScopeSegment
	// ScopeGroup: the ORC/RXA/RXR/OBX group (one dose) is not stored.
	ScopeGroup
	// ScopeMessage: nothing in the message is stored (no usable patient).
	ScopeMessage
	// ScopeEnvelope: the message is rejected outright (MSA AR): wrong
	// type, version or processing id, unusable header.
	ScopeEnvelope
)

// ErrorLocation is an HL7 ERL (ERR-2): segment ID, the segment's sequence
// among segments of that ID (1-based), field, repetition, component and
// subcomponent (0 = not given).
type ErrorLocation struct {
	Segment      string
	Sequence     int
	Field        int
	Repetition   int
	Component    int
	Subcomponent int
}

// String formats the location as ERR-2 components: SEG^1^5^1^1.
func (l ErrorLocation) String() string {
	parts := []string{l.Segment, itoa(l.Sequence), itoa(l.Field), itoa(l.Repetition), itoa(l.Component), itoa(l.Subcomponent)}
	n := len(parts)
	for n > 1 && parts[n-1] == "" {
		n--
	}
	return strings.Join(parts[:n], "^")
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// Issue is one problem found in a message: one ERR segment of the ACK.
type Issue struct {
	Location ErrorLocation
	Code     int      // HL7 table 0357
	Severity Severity // E, W or I
	AppCode  int      // CDC table 0533; 0 if none
	Scope    Scope
	// Message is ERR-8: what a person at the sending clinic can act on. It
	// may quote the value sent back to its sender; it is never logged.
	Message string
	// Rule names the rule that raised the issue (for tests, metrics and the
	// console), e.g. "RXA-5 unknown CVX".
	Rule string
	// Detection is the AIRA MQE detection the issue is, e.g. "MQE0087"
	// ("" if none): a cross-reference for data quality reports, sent in
	// ERR-5's alternate triplet (see Validator.WriteAck).
	Detection string
}

// Path formats the location as an HL7 position without the segment's
// sequence: "RXA-17", "PID-3.1", "MSH" — the form operators group by.
func (l ErrorLocation) Path() string {
	if l.Field == 0 {
		return l.Segment
	}
	var buf [32]byte
	return string(l.appendPath(buf[:0]))
}

func (l ErrorLocation) appendPath(b []byte) []byte {
	b = append(b, l.Segment...)
	if l.Field == 0 {
		return b
	}
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(l.Field), 10)
	if l.Component > 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(l.Component), 10)
	}
	return b
}

// Summary is the compact form of issues kept with a stored message, one
// entry per ERR row joined by ';': severity, HL7 0357 code, CDC 0533 code
// and position, and the MQE detection when there is one, e.g.
// "E:101:5:RXA-17;W:103:3:RXA-9:MQE0344". It holds no value
// from the message, so it may travel in queue headers and metrics.
func Summary(issues []Issue) string {
	if len(issues) == 0 {
		return ""
	}
	var buf [256]byte
	b := buf[:0]
	for i, is := range issues {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, byte(is.Severity), ':')
		b = strconv.AppendInt(b, int64(is.Code), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(is.AppCode), 10)
		b = append(b, ':')
		b = is.Location.appendPath(b)
		if is.Detection != "" {
			b = append(b, ':')
			b = append(b, is.Detection...)
		}
	}
	return string(b)
}
