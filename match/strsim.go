package match

// String similarity measures used by the comparators. All of them work on
// normalised ASCII upper-case strings and never allocate: scratch space lives
// on the stack and inputs longer than maxSimLen are compared on their first
// maxSimLen bytes only (no name or street is that long in practice).

const maxSimLen = 48

// jaroWinkler returns the Jaro–Winkler similarity of a and b in [0, 1], with
// the usual prefix scale 0.1 and a common prefix of at most four characters.
func jaroWinkler(a, b string) float64 {
	if len(a) > maxSimLen {
		a = a[:maxSimLen]
	}
	if len(b) > maxSimLen {
		b = b[:maxSimLen]
	}
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	if a == "" || b == "" {
		return 0
	}
	window := max(len(a), len(b))/2 - 1
	if window < 0 {
		window = 0
	}
	var am, bm [maxSimLen]bool
	matches := 0
	for i := 0; i < len(a); i++ {
		lo := max(0, i-window)
		hi := min(len(b), i+window+1)
		for j := lo; j < hi; j++ {
			if bm[j] || a[i] != b[j] {
				continue
			}
			am[i], bm[j] = true, true
			matches++
			break
		}
	}
	if matches == 0 {
		return 0
	}
	trans := 0
	j := 0
	for i := 0; i < len(a); i++ {
		if !am[i] {
			continue
		}
		for !bm[j] {
			j++
		}
		if a[i] != b[j] {
			trans++
		}
		j++
	}
	m := float64(matches)
	jaro := (m/float64(len(a)) + m/float64(len(b)) + (m-float64(trans/2))/m) / 3
	prefix := 0
	for prefix < 4 && prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// editDistance returns the optimal-string-alignment distance (Levenshtein
// plus adjacent transpositions) between a and b, giving up early and
// returning limit+1 once the distance is known to exceed limit.
func editDistance(a, b string, limit int) int {
	if len(a) > maxSimLen {
		a = a[:maxSimLen]
	}
	if len(b) > maxSimLen {
		b = b[:maxSimLen]
	}
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	var rows [3][maxSimLen + 1]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}

// soundex returns the four-character American Soundex code of an upper-case
// ASCII name, or the zero value when the name has no letter.
func soundex(s string) [4]byte {
	var out [4]byte
	n := 0
	var last byte
	for i := 0; i < len(s) && n < 4; i++ {
		c := s[i]
		if c < 'A' || c > 'Z' {
			continue
		}
		code := soundexCode[c-'A']
		if n == 0 {
			out[0] = c
			n = 1
			last = code
			continue
		}
		switch {
		case code == '0':
			// Vowels separate equal codes; H and W do not.
			if c != 'H' && c != 'W' {
				last = 0
			}
		case code != last:
			out[n] = code
			n++
			last = code
		}
	}
	if n == 0 {
		return out
	}
	for ; n < 4; n++ {
		out[n] = '0'
	}
	return out
}

// ABCDEFGHIJKLMNOPQRSTUVWXYZ
const soundexCode = "01230120022455012623010202"

// digitTypo reports whether two equal-length digit strings differ by exactly
// one substituted digit or one adjacent transposition.
func digitTypo(a, b string) bool {
	if len(a) != len(b) || a == b {
		return false
	}
	first, diffs := -1, 0
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] {
			if first < 0 {
				first = i
			}
			diffs++
		}
	}
	if diffs == 1 {
		return true
	}
	return diffs == 2 && first+1 < len(a) && a[first] == b[first+1] && a[first+1] == b[first] && a[first+2:] == b[first+2:]
}
