package worker

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/jackc/pgx/v5"
)

// capture is an ingest.Publisher that keeps the last message published.
type capture struct{ m *queue.Message }

func (c *capture) Publish(_ context.Context, m *queue.Message) (queue.PubAck, error) {
	c.m = m
	return queue.PubAck{}, nil
}

// corpusVXU returns the single messages of the sample corpus that are
// VXUs, by file.
func corpusVXU(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	root := "../testdata/hl7/samples"
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".hl7") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b, err := hl7.SplitBatch(data)
		if err != nil {
			return nil
		}
		for _, raw := range b.Messages() {
			if m, err := hl7.Parse(raw); err == nil && m.Get("MSH-9.1").Equal("VXU") {
				out[path+"#"+m.Get("MSH-10").String()] = raw
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// mutations are the hostile texts written into fields of corpus messages:
// control bytes, invalid UTF-8, escapes that spell them, Latin-1, and a
// value too long for an index entry (random letters, which do not
// compress).
var mutations = []string{"A\x00B", "\x00", "X\x01Y", "Z\x1bZ", "\xff\xfe", "Caf\xe9", "\\X00\\", "\\X0D0A\\x", "\\XC3\\", "\t", randomLetters(4000)}

func randomLetters(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[x%52]
	}
	return string(b)
}

// mutatedFields are the fields the mutations go into.
var mutatedFields = []string{"MSH-4", "MSH-10", "MSH-3", "MSH-9", "MSH-18", "PID-3", "PID-5", "PID-5.2", "PID-6", "PID-11",
	"PID-13", "NK1-2", "ORC-3", "RXA-5", "RXA-5.2", "RXA-15", "RXA-11", "RXA-18", "OBX-5", "OBX-3", "PD1-11"}

// setField writes value raw into field loc ("SEG-f" or "SEG-f.c", first
// segment of that ID) of a CR-separated message.
func setField(msg []byte, loc, value string) []byte {
	l, err := hl7.ParseLocation(loc)
	if err != nil {
		return msg
	}
	lines := bytes.Split(bytes.TrimRight(bytes.ReplaceAll(msg, []byte("\n"), []byte("\r")), "\r"), []byte("\r"))
	for i, line := range lines {
		if !bytes.HasPrefix(line, []byte(l.Segment)) {
			continue
		}
		fields := strings.Split(string(line), "|")
		idx := l.Field
		if l.Segment == "MSH" {
			idx--
		}
		for len(fields) <= idx {
			fields = append(fields, "")
		}
		if l.Component > 0 {
			comps := strings.Split(fields[idx], "^")
			for len(comps) < l.Component {
				comps = append(comps, "")
			}
			comps[l.Component-1] = value
			fields[idx] = strings.Join(comps, "^")
		} else {
			fields[idx] = value
		}
		lines[i] = []byte(strings.Join(fields, "|"))
		break
	}
	return append(bytes.Join(lines, []byte("\r")), '\r')
}

// FuzzAcceptedIsStored: whatever the listener accepts, the worker stores.
// Each input goes through ingest.Handler (Check, the ACK, the queued
// message), then the worker's prepare (Decode) and registry.Store.ApplyBulk
// on a real PostgreSQL database, committed. A message answered AA or AE
// must be stored without error (accepted or as rejected), never
// dead-lettered; and so must a rejected one, which the message store keeps.
// The seed corpus is every VXU of testdata/hl7 and those messages with
// control bytes, invalid UTF-8 and Latin-1 written into many fields.
func FuzzAcceptedIsStored(f *testing.F) {
	corpus := corpusVXU(f)
	for _, raw := range corpus {
		f.Add(raw)
	}
	// Mutations on a few messages of different shapes.
	n := 0
	for name, raw := range corpus {
		if !strings.Contains(name, "nist") && !strings.Contains(name, "cdc-ig") {
			continue
		}
		if n++; n > 4 {
			break
		}
		for _, fld := range mutatedFields {
			for _, mu := range mutations {
				f.Add(setField(raw, fld, mu))
			}
		}
		f.Add(setField(setField(raw, "MSH-18", "8859/1"), "PID-5.2", "Ren\xe9e"))
		// A guardian whose name, relationship and phone are each just
		// within the limit: the three share one index entry.
		digits := strings.Map(func(r rune) rune { return '0' + r%10 }, randomLetters(790))
		f.Add(setField(setField(setField(raw, "NK1-2", randomLetters(795)), "NK1-3", randomLetters(795)), "NK1-5", "^PRN^PH^^^"+digits[:390]+"^"+digits[390:780]))
	}
	store, err := registry.Open(context.Background(), registry.Config{URL: pgtest.NewDatabase(f)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(store.Close)
	v := immz.New(immz.Config{})
	w := &Worker{cfg: Config{Validator: v}}
	w.cfg.defaults()
	var seq atomic.Uint64
	f.Fuzz(func(t *testing.T, raw []byte) {
		if hl7.IsBatch(raw) {
			return
		}
		q := &capture{}
		h := ingest.New(ingest.Config{Validator: v, Queue: q})
		ack := h.ServeHL7(ingest.WithSource(context.Background(), ingest.Source{Transport: "mllp"}), raw)
		if q.m == nil {
			return // a query, answered without queueing
		}
		pm, err := hl7.Parse(ack)
		if err != nil {
			t.Fatalf("ACK does not parse: %v", err)
		}
		code := pm.Get("MSA-1").String()
		d := &delivery{seq: seq.Add(1), delivered: 1}
		it := w.prepare(d, 0, q.m)
		if it.err != nil {
			t.Fatalf("answered %s, then the worker cannot decode it: %v", code, it.err)
		}
		var res []registry.Result
		err = pgx.BeginFunc(context.Background(), store.Pool(), func(tx pgx.Tx) error {
			var err error
			res, err = store.ApplyBulk(context.Background(), tx, []*registry.Message{it.rm})
			return err
		})
		if err != nil {
			t.Fatalf("answered %s (kind %s), then the registry cannot store it: %v", code, q.m.Kind, err)
		}
		if q.m.Kind == "vxu" && (code == "AA" || code == "AE") && !res[0].Duplicate && res[0].StoredOnly {
			t.Fatalf("answered %s, stored as message only", code)
		}
		// Stored faithfully: the patient's names as decoded (Latin-1
		// converted), byte for byte.
		if r := res[0]; q.m.Kind == "vxu" && !r.Duplicate && !r.StoredOnly {
			for _, nm := range it.rm.Decoded.VXU.Patient.Names {
				var found bool
				if err := store.Pool().QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM patient_names
					WHERE patient_id = $1 AND family = $2 AND given = $3 AND middle = $4)`, r.PatientID, nm.Family, nm.Given, nm.Middle).Scan(&found); err != nil {
					t.Fatal(err)
				}
				if !found {
					t.Fatalf("answered %s, name %q^%q^%q not stored as decoded", code, nm.Family, nm.Given, nm.Middle)
				}
			}
		}
		var n int
		if err := store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM source_reports WHERE stream_seq = $1`, int64(d.seq)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 && !res[0].Duplicate {
			t.Fatalf("answered %s: %d source reports stored", code, n)
		}
	})
}
