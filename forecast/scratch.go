package forecast

import "sync"

// scratch holds the working memory of one Forecast call. Buffers are bump
// allocated and recycled through a pool, so a forecast makes few heap
// allocations; nothing in a Result points into them.
type scratch struct {
	doses     []pdose
	ints      []int
	stats     []EvalStatus
	reasons   []reason
	tgts      []int8
	runs      []run
	runPtrs   []*run
	outcomes  []antigenOutcome
	outPtrs   []*antigenOutcome
	bestPtrs  []*run
	intSlices [][]int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) reset() {
	sc.doses = sc.doses[:0]
	sc.ints = sc.ints[:0]
	sc.stats = sc.stats[:0]
	sc.reasons = sc.reasons[:0]
	sc.tgts = sc.tgts[:0]
	sc.runs = sc.runs[:0]
	sc.runPtrs = sc.runPtrs[:0]
	sc.outcomes = sc.outcomes[:0]
	sc.outPtrs = sc.outPtrs[:0]
	sc.bestPtrs = sc.bestPtrs[:0]
	sc.intSlices = sc.intSlices[:0]
}

// grow returns n zeroed elements from buf, replacing buf's array when full
// (slices handed out earlier keep the old array).
func grow[T any](buf *[]T, n int) []T {
	l := len(*buf)
	if l+n > cap(*buf) {
		*buf = make([]T, 0, max(2*cap(*buf), n+256))
		l = 0
	}
	// Reslicing *buf in place stores only its length: no write barrier.
	*buf = (*buf)[:l+n]
	s := (*buf)[l : l+n]
	clear(s)
	return s
}

// newRun returns a run from the pool of runs, set to r; runs are never
// moved once handed out because the slice is allocated with room for all
// series.
func (sc *scratch) newRun(total int, r run) *run {
	if len(sc.runs) == cap(sc.runs) {
		sc.runs = make([]run, 0, max(total, 2*cap(sc.runs)))
	}
	sc.runs = sc.runs[:len(sc.runs)+1]
	p := &sc.runs[len(sc.runs)-1]
	*p = r
	return p
}
