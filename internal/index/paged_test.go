package index

import "testing"

func TestPaged(t *testing.T) {
	for _, reserve := range []int{-1, 0, 10, pageLen, pageLen + 1, 3*pageLen - 5} {
		var p paged[int64]
		if reserve >= 0 {
			p.reset(reserve)
		}
		const n = 2*pageLen + 100
		var addrs []*int64
		for i := range n {
			p.push(int64(i) * 3)
			if i%pageLen == pageLen-1 {
				addrs = append(addrs, p.at(uint32(i))) // last of a full page: must never move
			}
		}
		if p.len() != n {
			t.Fatalf("reserve %d: len %d, want %d", reserve, p.len(), n)
		}
		for i := range uint32(n) {
			if got := *p.at(i); got != int64(i)*3 {
				t.Fatalf("reserve %d: at(%d) = %d, want %d", reserve, i, got, i*3)
			}
		}
		for j, a := range addrs {
			if i := uint32(j*pageLen + pageLen - 1); a != p.at(i) {
				t.Fatalf("reserve %d: element %d moved", reserve, i)
			}
		}
		if c := p.capBytes(8); c < n*8 || c > (n+pageLen)*8 {
			t.Fatalf("reserve %d: %d bytes held for %d elements", reserve, c, n)
		}
	}
	var small paged[doc]
	small.push(doc{text: 7})
	if small.capBytes(1) > 64 || small.at(0).text != 7 {
		t.Fatalf("a one-doc index holds %d elements of room", small.capBytes(1))
	}
}
