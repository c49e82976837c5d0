package inventory

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// receive records a shipment entered on the form (one lot).
func (pg *Pages) receive(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error) {
	doses, err := formInt(r, "doses", "the doses received")
	if err != nil {
		return "", nil, err
	}
	l := ReceiptLine{CVX: strings.TrimSpace(r.FormValue("cvx")), NDC: strings.TrimSpace(r.FormValue("ndc")), MVX: r.FormValue("mvx"),
		Lot: r.FormValue("lot"), Funding: r.FormValue("funding"), Doses: doses}
	if s := strings.TrimSpace(r.FormValue("expires")); s != "" {
		if l.Expires, err = ParseDate(s); err != nil {
			return "", nil, err
		}
	}
	on, err := pg.formDay(r, "received")
	if err != nil {
		return "", nil, err
	}
	if _, err := pg.cfg.Store.Receive(ctx, clinic, actor, on, []ReceiptLine{l}); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("received lot=%s doses=%d", l.Lot, l.Doses), nil, nil
}

// receiveCSV records a shipment imported from a file (ReceiptColumns).
func (pg *Pages) receiveCSV(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error) {
	f, _, err := r.FormFile("file")
	if err != nil {
		return "", nil, inputErr("choose a CSV file")
	}
	defer f.Close()
	lines, err := ParseReceiptCSV(f)
	if err != nil {
		return "", nil, err
	}
	on, err := pg.formDay(r, "received")
	if err != nil {
		return "", nil, err
	}
	if _, err := pg.cfg.Store.Receive(ctx, clinic, actor, on, lines); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("received lots=%d from a file", len(lines)), nil, nil
}

// transfer records doses sent to another clinic.
func (pg *Pages) transfer(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error) {
	lot, err := formID(r, "lot")
	if err != nil {
		return "", nil, err
	}
	doses, err := formInt(r, "doses", "the doses transferred")
	if err != nil {
		return "", nil, err
	}
	to := strings.TrimSpace(r.FormValue("to"))
	on, err := pg.formDay(r, "on")
	if err != nil {
		return "", nil, err
	}
	if err := pg.cfg.Store.Transfer(ctx, clinic, lot, to, doses, actor, r.FormValue("note"), on); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("transferred lot_id=%d doses=%d to=%s", lot, doses, to), nil, nil
}

// waste records wasted or returned doses.
func (pg *Pages) waste(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error) {
	lot, err := formID(r, "lot")
	if err != nil {
		return "", nil, err
	}
	doses, err := formInt(r, "doses", "the doses")
	if err != nil {
		return "", nil, err
	}
	kind := KindWastage
	if r.FormValue("kind") == KindReturn {
		kind = KindReturn
	}
	on, err := pg.formDay(r, "on")
	if err != nil {
		return "", nil, err
	}
	reason := r.FormValue("reason")
	if err := pg.cfg.Store.Waste(ctx, clinic, lot, kind, doses, reason, actor, r.FormValue("note"), on); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("wasted lot_id=%d doses=%d kind=%s reason=%s", lot, doses, kind, reason), nil, nil
}

// count records the physical count: one field count_<lot id> per lot
// counted (blank: not counted), with reason_<lot id>.
func (pg *Pages) count(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error) {
	if err := r.ParseForm(); err != nil {
		return "", nil, inputErr("the form could not be read")
	}
	var lines []CountLine
	for k, vs := range r.PostForm {
		id, ok := strings.CutPrefix(k, "count_")
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		lot, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err != nil {
			return "", nil, inputErr("a count must be a whole number")
		}
		lines = append(lines, CountLine{Lot: lot, Counted: n, Reason: r.PostForm.Get("reason_" + id)})
	}
	on, err := pg.formDay(r, "on")
	if err != nil {
		return "", nil, err
	}
	id, adj, err := pg.cfg.Store.Count(ctx, clinic, actor, on, lines)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("counted count_id=%d lots=%d", id, len(lines)), adj, nil
}

// mapLot maps an unmatched lot text to one of the clinic's lots.
func (pg *Pages) mapLot(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error) {
	lot, err := formID(r, "lot")
	if err != nil {
		return "", nil, err
	}
	text := r.FormValue("text")
	n, err := pg.cfg.Store.MapLot(ctx, clinic, text, lot, actor)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("mapped lot_id=%d doses=%d", lot, n), nil, nil
}

// par sets a vaccine's par level.
func (pg *Pages) par(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error) {
	n, err := formInt(r, "par", "the par level")
	if err != nil {
		return "", nil, err
	}
	cvx := strings.TrimSpace(r.FormValue("cvx"))
	if err := pg.cfg.Store.SetPar(ctx, clinic, cvx, n); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("par cvx=%s par=%d", cvx, n), nil, nil
}
