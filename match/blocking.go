package match

import "strconv"

// BlockingKeys returns the keys under which a store indexes r so that a new
// report is compared only with the records sharing at least one key with it
// (blocking). A true duplicate shares a key unless it disagrees on nearly
// everything at once. The keys, each prefixed by its kind, are:
//
//	D:<birth date>:<sex>                    same birth date (unknown sex: both)
//	L:<last Soundex>:<birth year>:<initial> day/month swapped or mistyped
//	N:<first Soundex>:<last Soundex>:<MM>   birth year or day mistyped
//	F:<first Soundex>:<MMDD>                last name changed and birth date close
//	I:<type>:<value>                        identifier (any authority)
//	P:<phone>                               ten-digit phone number
//	A:<ZIP>:<house number>:<street>         same street address
//
// Keys are deterministic and derived from the normalised record only, so a
// store can keep them in an indexed column. A store should skip keys shared
// by a very large number of records (a clinic's phone, a common street).
func BlockingKeys(r *Record) []string {
	n := &r.n
	if !n.done {
		x := normalize(r)
		n = &x
	}
	keys := make([]string, 0, 8+len(n.ids)+len(n.phones)+len(n.addrs))
	initial := ""
	if n.first != "" {
		initial = ":" + n.first[:1]
	}
	if !n.dob.IsZero() {
		// Birth date and sex; a record of unknown sex joins both blocks.
		switch n.sex {
		case 'M', 'F':
			keys = append(keys, "D:"+n.dob.String()+":"+string(rune(n.sex)))
		default:
			keys = append(keys, "D:"+n.dob.String()+":M", "D:"+n.dob.String()+":F")
		}
		if n.last != "" {
			keys = append(keys, "L:"+string(n.lastSdx[:])+":"+strconv.Itoa(n.dob.Year)+initial)
			for _, alt := range n.lastAlts {
				if alt != n.last {
					keys = append(keys, "L:"+string(soundexBytes(alt))+":"+strconv.Itoa(n.dob.Year)+initial)
				}
			}
		}
		if n.first != "" {
			md := n.dob.String()[4:]
			keys = append(keys, "F:"+string(n.firstSdx[:])+":"+md)
		}
	}
	if n.first != "" && n.last != "" && !n.dob.IsZero() {
		keys = append(keys, "N:"+string(n.firstSdx[:])+":"+string(n.lastSdx[:])+":"+n.dob.String()[4:6])
	} else if n.first != "" && n.last != "" {
		keys = append(keys, "N:"+string(n.firstSdx[:])+":"+string(n.lastSdx[:]))
	}
	for _, id := range n.ids {
		keys = append(keys, "I:"+id.Type+":"+id.Value)
	}
	for _, p := range n.phones {
		if len(p) == 10 {
			keys = append(keys, "P:"+p)
		}
	}
	for _, a := range n.addrs {
		if a.zip != "" && a.number != "" && a.street != "" {
			keys = append(keys, "A:"+a.zip+":"+a.number+":"+a.street)
		}
	}
	return dedupe(keys)
}

func soundexBytes(s string) []byte {
	c := soundex(s)
	return c[:]
}

func dedupe(keys []string) []string {
	out := keys[:0]
	for _, k := range keys {
		if !contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
