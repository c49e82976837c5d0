package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var validator = immz.New(immz.Config{})

// env is a registry and its inventory in a private database.
type env struct {
	reg *registry.Store
	inv *inventory.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	reg, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t), MaxConns: 24})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	inv, err := inventory.New(inventory.Config{Pool: reg.Pool(), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &env{reg: reg, inv: inv}
}

// streamSeq numbers the test's messages as the queue would: the same
// bytes again are a redelivery of the same stream message.
var (
	streamSeq atomic.Uint64
	seqMu     sync.Mutex
	seqOf     = map[string]uint64{}
)

func seqFor(raw []byte) uint64 {
	seqMu.Lock()
	defer seqMu.Unlock()
	if n, ok := seqOf[string(raw)]; ok {
		return n
	}
	n := streamSeq.Add(1)
	seqOf[string(raw)] = n
	return n
}

// message decodes raw as the worker does.
func message(t testing.TB, raw []byte) *registry.Message {
	t.Helper()
	r := validator.Decode(raw)
	if r.Message() == nil || r.VXU == nil || r.Rejected() {
		t.Fatalf("not an accepted VXU: %v", r.Issues)
	}
	return &registry.Message{Kind: "vxu", Facility: r.Header.SendingFacility.Name, ControlID: r.Header.ControlID,
		Type: "VXU", Ack: "AA", Transport: "test", Raw: raw, Received: time.Now(), Decoded: r,
		StreamSeq: seqFor(raw)}
}

// apply stores raws in one transaction as the worker does (ApplyBulk,
// then the inventory's hook), retrying a deadlock or serialization
// failure as the worker would.
func (e *env) apply(t testing.TB, raws ...[]byte) error {
	t.Helper()
	for attempt := 0; ; attempt++ {
		msgs := make([]*registry.Message, len(raws))
		for i, r := range raws {
			msgs[i] = message(t, r)
		}
		err := pgx.BeginFunc(context.Background(), e.reg.Pool(), func(tx pgx.Tx) error {
			res, err := e.reg.ApplyBulk(context.Background(), tx, msgs)
			if err != nil {
				return err
			}
			return e.inv.Applied(context.Background(), tx, msgs, res)
		})
		var pe *pgconn.PgError
		if err != nil && errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") && attempt < 20 {
			continue
		}
		return err
	}
}

func (e *env) mustApply(t testing.TB, raws ...[]byte) {
	t.Helper()
	if err := e.apply(t, raws...); err != nil {
		t.Fatal(err)
	}
}

// dose is one RXA of a test VXU.
type dose struct {
	filler      string // ORC-3
	date        string // RXA-3, YYYYMMDD
	cvx, lot    string
	mvx         string
	info        string // RXA-9: 00 new, 01 historical
	completion  string // RXA-20
	action      string // RXA-21
	eligibility string // OBX 64994-7
	funding     string // OBX 30963-3
}

// vxu builds a VXU from facility fac with control id ctl for the child
// with medical record number mrn, after the NIST and CDC samples in
// testdata.
func vxu(fac, ctl, mrn string, doses ...dose) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|%s||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, time.Now().Format("20060102150405"), ctl)
	family, given, dob := child(mrn)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|%s^^^^^^M|%s|F|||%d Main St^^Hartford^CT^06101^USA^P\r", mrn, fac, family, given, given, dob, len(mrn)+int(dob[7]))
	fmt.Fprintf(&b, "NK1|1|%s^%s^^^^^L|MTH^Mother^HL70063\r", family, given+"mom")
	obx := 0
	for _, d := range doses {
		info, comp, act, mvx := or(d.info, "00"), or(d.completion, "CP"), or(d.action, "A"), or(d.mvx, "MSD")
		fmt.Fprintf(&b, "ORC|RE||%s^%s\r", d.filler, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||%s^NIP001||||||%s||%s^mfr^MVX|||%s|%s\r",
			or(d.date, "20251001"), d.cvx, info, d.lot, mvx, comp, act)
		if info == "00" && act != "D" {
			obx++
			fmt.Fprintf(&b, "OBX|%d|CE|64994-7^Eligibility^LN|%d|%s^elig^HL70064||||||F|||%s|||VXC40^per immunization^CDCPHINVS\r",
				obx, obx, or(d.eligibility, "V02"), or(d.date, "20251001"))
			if d.funding != "" {
				obx++
				fmt.Fprintf(&b, "OBX|%d|CE|30963-3^Funding^LN|%d|%s^funding^CDCPHINVS||||||F\r", obx, obx, d.funding)
			}
		}
	}
	return []byte(b.String())
}

var (
	families = []string{"Avery", "Brooks", "Castillo", "Dunham", "Ellison", "Fairchild", "Garrity", "Huxley", "Ingram", "Jovanovic",
		"Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Pettersen", "Quintero", "Rasmussen", "Szabo", "Thibodeaux"}
	givens = []string{"Ada", "Bruno", "Cleo", "Dmitri", "Esme", "Felix", "Greta", "Hugo", "Iris", "Jonah",
		"Kira", "Leon", "Mabel", "Nils", "Opal", "Pavel", "Quinn", "Rosa", "Silas", "Tova"}
)

// child returns a distinct child for each medical record number: a
// family and given name and a birth date (YYYYMMDD).
func child(mrn string) (family, given, dob string) {
	h := fnv.New32a()
	h.Write([]byte(mrn))
	n := h.Sum32()
	return families[n%20], givens[(n/20)%20], time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n/400%600)).Format("20060102")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// onHand reads a lot's stock.
func (e *env) onHand(t testing.TB, lot int64) int {
	t.Helper()
	var n int
	if err := e.reg.Pool().QueryRow(context.Background(), `SELECT on_hand FROM inventory_lots WHERE id = $1`, lot).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.reg.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// ledgerAgrees fails t unless every lot's stock is the sum of its ledger.
func (e *env) ledgerAgrees(t testing.TB) {
	t.Helper()
	if n := e.count(t, `SELECT count(*) FROM inventory_lots l WHERE on_hand <> coalesce((SELECT sum(quantity) FROM inventory_transactions x WHERE x.lot_id = l.id), 0)`); n != 0 {
		t.Errorf("%d lots whose stock is not the sum of their ledger", n)
	}
}

var day = func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
