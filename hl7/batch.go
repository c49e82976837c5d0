package hl7

import (
	"bytes"
	"fmt"
)

// Batch is an HL7 batch file split into its messages:
//
//	[FHS] { [BHS] { MSH … } [BTS] } [FTS]
//
// Any of the envelope segments may be absent; a file of bare messages is a
// batch of one group with no envelope. Messages are sub-slices of the input.
type Batch struct {
	FileHeader  Segment // FHS; zero if absent
	FileTrailer Segment // FTS; zero if absent
	Groups      []BatchGroup
	// Problems lists envelope inconsistencies (counts that disagree with
	// the content, trailers without headers). They do not stop the messages
	// from being processed; a receiver reports them.
	Problems []string
}

// BatchGroup is one BHS … BTS group of a batch file.
type BatchGroup struct {
	Header   Segment // BHS; zero if absent
	Trailer  Segment // BTS; zero if absent
	Messages [][]byte
}

// IsBatch reports whether data starts with an FHS or BHS segment.
func IsBatch(data []byte) bool {
	var sc lineScanner
	sc.init(data)
	line, ok := sc.next()
	return ok && (bytes.HasPrefix(line, []byte("FHS")) || bytes.HasPrefix(line, []byte("BHS")))
}

// Messages returns every message of every group, in order.
func (b *Batch) Messages() [][]byte {
	var all [][]byte
	for _, g := range b.Groups {
		all = append(all, g.Messages...)
	}
	return all
}

// SplitBatch splits a batch file (or a run of concatenated messages) into
// messages and checks the BTS-1 and FTS-1 counts. Each message keeps its own
// segment terminators; parse each with [Parse].
func SplitBatch(data []byte) (*Batch, error) {
	b := &Batch{}
	var sc lineScanner
	sc.init(data)
	var (
		d        Delimiters
		haveD    bool
		group    *BatchGroup
		msgStart = -1
		msgEnd   int
		nseg     int
		nbhs     int
	)
	flush := func() {
		if msgStart >= 0 {
			group.Messages = append(group.Messages, data[msgStart:msgEnd])
			msgStart = -1
		}
	}
	ensureGroup := func() {
		if group == nil {
			b.Groups = append(b.Groups, BatchGroup{})
			group = &b.Groups[len(b.Groups)-1]
		}
	}
	for {
		line, ok := sc.next()
		if !ok {
			break
		}
		start := sc.start
		nseg++
		id := ""
		if len(line) >= 3 {
			id = string(line[:3])
		}
		switch id {
		case "FHS", "BHS", "MSH":
			nd, err := readDelimiters(line)
			if err != nil {
				if se, ok := err.(*SyntaxError); ok {
					se.Segment = nseg
				}
				return nil, err
			}
			d, haveD = nd, true
		default:
			if !haveD {
				return nil, &SyntaxError{Msg: "batch does not start with an FHS, BHS or MSH segment" + describeStart(line)}
			}
			if err := checkSegmentID(line, d.Field, nseg); err != nil {
				return nil, err
			}
		}
		seg := Segment{raw: line, d: d}
		switch id {
		case "FHS":
			flush()
			if b.FileHeader.raw != nil || len(b.Groups) > 0 {
				b.Problems = append(b.Problems, fmt.Sprintf("segment %d: FHS after the start of the file", nseg))
			}
			b.FileHeader = seg
			group = nil
		case "BHS":
			flush()
			nbhs++
			b.Groups = append(b.Groups, BatchGroup{Header: seg})
			group = &b.Groups[len(b.Groups)-1]
		case "BTS":
			flush()
			if group == nil || group.Trailer.raw != nil {
				b.Problems = append(b.Problems, fmt.Sprintf("segment %d: BTS without a BHS", nseg))
				ensureGroup()
			}
			group.Trailer = seg
			b.checkCount(seg, len(group.Messages), "BTS-1 batch message count", "messages in the batch")
			group = nil
		case "FTS":
			flush()
			b.FileTrailer = seg
			b.checkCount(seg, nbhs, "FTS-1 file batch count", "batches in the file")
		case "MSH":
			flush()
			ensureGroup()
			msgStart = start
			msgEnd = sc.offset()
		default:
			if msgStart < 0 {
				return nil, &SyntaxError{Segment: nseg, Msg: fmt.Sprintf("%s segment outside a message", id)}
			}
			msgEnd = sc.offset()
		}
	}
	flush()
	if nbhs > 0 {
		for i, g := range b.Groups {
			if g.Header.raw != nil && g.Trailer.raw == nil {
				b.Problems = append(b.Problems, fmt.Sprintf("batch %d has no BTS trailer", i+1))
			}
		}
	}
	if b.FileHeader.raw != nil && b.FileTrailer.raw == nil {
		b.Problems = append(b.Problems, "file has no FTS trailer")
	}
	return b, nil
}

func (b *Batch) checkCount(trailer Segment, actual int, what, unit string) {
	v := trailer.Field(1)
	if v.IsEmpty() {
		return // the count is optional
	}
	n, err := v.Int()
	switch {
	case err != nil:
		b.Problems = append(b.Problems, fmt.Sprintf("%s %q is not a number", what, v.String()))
	case n != actual:
		b.Problems = append(b.Problems, fmt.Sprintf("%s is %d but there are %d %s", what, n, actual, unit))
	}
}
