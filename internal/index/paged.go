package index

// paged is an append-only array kept in pages of pageLen elements. Growing
// it never copies what it holds: the doc table and the columns were slices,
// and at 10M docs each growth copied about a gigabyte under the write lock,
// stalling every search for 1-2 s. An element's address is stable once its
// page is full (the first page grows geometrically up to pageLen, so a
// small index stays small).
type paged[T any] struct {
	pages [][]T // every page but the last holds pageLen elements
	n     int
}

const (
	pageBits = 16
	pageLen  = 1 << pageBits
)

// at returns element i (< len()).
func (p *paged[T]) at(i uint32) *T { return &p.pages[i>>pageBits][i&(pageLen-1)] }

func (p *paged[T]) len() int { return p.n }

// push appends v.
func (p *paged[T]) push(v T) {
	k := p.n >> pageBits
	switch {
	case k < len(p.pages): // room reserved by reset, or the growing first page
	case k == 0:
		p.pages = append(p.pages, make([]T, 0, 64))
	default:
		p.pages = append(p.pages, make([]T, 0, pageLen))
	}
	pg := p.pages[k]
	if len(pg) == cap(pg) { // only the first page grows: double it, up to pageLen
		pg = append(make([]T, 0, min(2*cap(pg), pageLen)), pg...)
	}
	p.pages[k] = append(pg, v)
	p.n++
}

// reset empties p and reserves room for n elements (Open knows the count).
func (p *paged[T]) reset(n int) {
	p.pages, p.n = nil, 0
	for left := n; left > 0; left -= pageLen {
		c := pageLen
		if n < pageLen {
			c = n // a small index keeps a small first page
		}
		p.pages = append(p.pages, make([]T, 0, c))
	}
}

// capBytes is the memory held, given the size of one element.
func (p *paged[T]) capBytes(elem int64) int64 {
	var c int64
	for _, pg := range p.pages {
		c += int64(cap(pg))
	}
	return c * elem
}
