package inventory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ReceiptColumns are the columns of a shipment file, by header name (any
// order, any case; other columns are ignored): lot and doses are
// required, with cvx or ndc; mvx, expires (YYYY-MM-DD, YYYYMMDD or
// MM/DD/YYYY) and funding (VFC, 317, state, private; default VFC) are
// optional.
var ReceiptColumns = []string{"cvx", "ndc", "mvx", "lot", "expires", "funding", "doses"}

// maxReceiptLines bounds a shipment file.
const maxReceiptLines = 5000

// ParseReceiptCSV reads a shipment file (see ReceiptColumns). An error
// names the line and the column.
func ParseReceiptCSV(r io.Reader) ([]ReceiptLine, error) {
	cr := csv.NewReader(io.LimitReader(r, 4<<20))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, inputErr("the file is empty")
		}
		return nil, inputErr("the file is not CSV: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"lot", "doses"} {
		if _, ok := col[need]; !ok {
			return nil, inputErr("the header has no %q column (columns: %s)", need, strings.Join(ReceiptColumns, ", "))
		}
	}
	_, hasCVX := col["cvx"]
	_, hasNDC := col["ndc"]
	if !hasCVX && !hasNDC {
		return nil, inputErr("the header needs a cvx or an ndc column")
	}
	var out []ReceiptLine
	for n := 2; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, inputErr("line %d: %v", n, err)
		}
		if blank(rec) {
			continue
		}
		if len(out) == maxReceiptLines {
			return nil, inputErr("more than %d lots in one file", maxReceiptLines)
		}
		l, err := receiptLine(rec, col)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, inputErr("the file has no lots")
	}
	return out, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// receiptLine reads one record.
func receiptLine(rec []string, col map[string]int) (ReceiptLine, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	l := ReceiptLine{CVX: get("cvx"), NDC: get("ndc"), MVX: get("mvx"), Lot: get("lot"), Funding: normalFunding(get("funding"))}
	d, err := strconv.Atoi(get("doses"))
	if err != nil {
		return l, inputErr("doses %q is not a whole number", get("doses"))
	}
	l.Doses = d
	if s := get("expires"); s != "" {
		t, err := ParseDate(s)
		if err != nil {
			return l, err
		}
		l.Expires = t
	}
	return l, l.Check()
}

// normalFunding reads a funding column: VFC (the default), 317, state or
// private in any case.
func normalFunding(s string) string {
	switch strings.ToLower(s) {
	case "", "vfc":
		return VFC
	case "317":
		return F317
	case "state":
		return State
	case "private":
		return Private
	}
	return s
}

// ParseDate reads YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY.
func ParseDate(s string) (time.Time, error) {
	for _, f := range []string{"2006-01-02", "20060102", "01/02/2006", "1/2/2006"} {
		if t, err := time.Parse(f, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, inputErr("date %q is not YYYY-MM-DD", s)
}
