package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"
)

// pointCheck is what the registry restored to the restore point holds,
// before the replay, against the original registry.
type pointCheck struct {
	floor uint64 // the ack floor the restore point carries
	// present: reports in the restored registry. belowFloor: reports the
	// original stored from a sequence up to the floor; missing: those of
	// them the restored registry lacks (must be 0: they were committed
	// before the restore point).
	present, belowFloor int
	missing             []msgKey
	// awaiting: identities answered AA before the restore point that the
	// restored registry lacks — queued but not yet applied at that moment;
	// the replay must bring them.
	awaiting int
	// afterTarget: reports of messages sent after the restore point found
	// in the restored registry (must be 0: the recovery went too far).
	afterTarget []msgKey
	duplicates  int64
}

func (p pointCheck) failures() int {
	return len(p.missing) + len(p.afterTarget) + int(p.duplicates)
}

// checkPoint compares the registry restored to the restore point with the
// original: before is what was sent before the restore point, after what
// was sent after it.
func checkPoint(floor uint64, restored registrySnapshot, original map[msgKey]uint64, before, after []sentRecord) pointCheck {
	p := pointCheck{floor: floor, present: len(restored.reports), duplicates: restored.duplicates.total()}
	for k, seq := range original {
		if seq == 0 || seq > floor {
			continue
		}
		p.belowFloor++
		if _, ok := restored.reports[k]; !ok {
			p.missing = append(p.missing, k)
		}
	}
	seen := map[msgKey]bool{}
	for _, r := range before {
		k := msgKey{r.Facility, r.ControlID}
		if r.Ack != "AA" || r.ControlID == "" || seen[k] {
			continue
		}
		seen[k] = true
		if _, ok := restored.reports[k]; !ok {
			p.awaiting++
		}
	}
	seen = map[msgKey]bool{}
	for _, r := range after {
		k := msgKey{r.Facility, r.ControlID}
		if r.ControlID == "" || seen[k] {
			continue
		}
		seen[k] = true
		if _, ok := restored.reports[k]; ok {
			p.afterTarget = append(p.afterTarget, k)
		}
	}
	for _, l := range [][]msgKey{p.missing, p.afterTarget} {
		sort.Slice(l, func(i, j int) bool { return l[i].String() < l[j].String() })
	}
	return p
}

func (p pointCheck) print(w io.Writer, rp string) {
	fmt.Fprintf(w, "\n== registry restored to %s, before the replay\n", rp)
	fmt.Fprintf(w, "reports              %d\n", p.present)
	fmt.Fprintf(w, "up to the ack floor  %d reports the original stored from stream sequences <= %d; missing %d  → must be 0\n", p.belowFloor, p.floor, len(p.missing))
	fmt.Fprintf(w, "awaiting the replay  %d  (AA before the restore point, not yet applied by the worker then)\n", p.awaiting)
	fmt.Fprintf(w, "after the target     %d  (sent after the restore point, yet restored)  → must be 0\n", len(p.afterTarget))
	fmt.Fprintf(w, "duplicates           %d  → must be 0\n", p.duplicates)
	for _, l := range []struct {
		name string
		keys []msgKey
	}{{"missing", p.missing}, {"after the target", p.afterTarget}} {
		for i, k := range l.keys {
			if i == 20 {
				fmt.Fprintf(w, "  %s: ... %d more\n", l.name, len(l.keys)-20)
				break
			}
			fmt.Fprintf(w, "  %s: facility=%s control_id=%s\n", l.name, k.facility, k.controlID)
		}
	}
}

// checkRestorePoint reads the registry restored to rp and checks it.
func (d *drill) checkRestorePoint(ctx context.Context, rp string, t truth) (pointCheck, error) {
	snap, err := readRegistry(ctx, d.restored.URL())
	if err != nil {
		return pointCheck{}, err
	}
	var before, after []sentRecord
	for i, path := range d.phases {
		recs, err := readSent(path)
		if err != nil {
			return pointCheck{}, err
		}
		if i < drillPhases-1 {
			before = append(before, recs...)
		} else {
			after = append(after, recs...)
		}
	}
	p := checkPoint(restorePointSeq(rp), snap, t.seqs, before, after)
	p.print(d.out, rp)
	return p, nil
}

// verdict reconciles every message sent against the restored, replayed
// registry, and the original registry against it.
func (d *drill) verdict(ctx context.Context, t truth, p pointCheck) (bool, error) {
	snap, err := readRegistry(ctx, d.restored.URL())
	if err != nil {
		return false, err
	}
	var sent []sentRecord
	for _, path := range d.phases {
		recs, err := readSent(path)
		if err != nil {
			return false, err
		}
		sent = append(sent, recs...)
	}
	var notRestored []msgKey
	for k := range t.snap.reports {
		if _, ok := snap.reports[k]; !ok {
			notRestored = append(notRestored, k)
		}
	}
	sort.Slice(notRestored, func(i, j int) bool { return notRestored[i].String() < notRestored[j].String() })
	for i, k := range notRestored {
		if i == 20 {
			fmt.Fprintf(d.out, "  not restored: ... %d more\n", len(notRestored)-20)
			break
		}
		fmt.Fprintf(d.out, "  not restored: facility=%s control_id=%s\n", k.facility, k.controlID)
	}
	res := reconcile(sent, snap)
	res.markDead(t.dead)
	label := fmt.Sprintf("restored to the restore point by %s and replayed; %d phases at %.0f msgs/s for %v each", d.target.kind, drillPhases, d.o.rate, d.o.duration)
	res.print(d.out, snap, len(t.dead), len(d.crashes), label)
	fmt.Fprintf(d.out, "\n== timings\n")
	for _, l := range d.timings {
		fmt.Fprintln(d.out, l)
	}
	fmt.Fprintf(d.out, "%-50s %6.1fs\n", "the whole drill (builds included)", time.Since(d.start).Seconds())
	failed := res.failures() > 0 || p.failures() > 0 || len(notRestored) > 0
	verdict := "PASS"
	if failed {
		verdict = "FAIL"
	}
	fmt.Fprintf(d.out, "restore-drill %s: sent=%d AA=%d original=%d restored-at-point=%d awaiting-replay=%d missing-at-point=%d after-point=%d replayed-registry=%d not-restored=%d lost=%d duplicates=%d invented=%d\n",
		verdict, res.sent, res.byAck["AA"], len(t.snap.reports), p.present, p.awaiting, len(p.missing), len(p.afterTarget),
		len(snap.reports), len(notRestored), len(res.lost)+len(res.lostDoses), res.dup.total(), len(res.invented))
	return failed, nil
}
