package index

import (
	"testing"
	"github.com/RoaringBitmap/roaring/v2"
)

func BenchmarkMicroNormalize(b *testing.B) {
	real := loadReal(b)
	i := 0
	for b.Loop() {
		Normalize(real[i%len(real)].title)
		i++
	}
}

func BenchmarkMicroGrams(b *testing.B) {
	real := loadReal(b)
	var norms []string
	for _, r := range real { norms = append(norms, Normalize(r.title)) }
	var buf []uint64
	i, n := 0, 0
	for b.Loop() {
		buf = uniqGrams(appendGrams(buf[:0], norms[i%len(norms)]))
		n += len(buf)
		i++
	}
	b.ReportMetric(float64(n)/float64(i), "grams/doc")
}

func BenchmarkMicroAdd(b *testing.B) {
	real := loadReal(b)
	var gs [][]uint64
	for _, r := range real { gs = append(gs, uniqGrams(appendGrams(nil, Normalize(r.title)))) }
	m := map[uint64]*roaring.Bitmap{}
	i := 0
	for b.Loop() {
		for _, k := range gs[i%len(gs)] {
			bm := m[k]
			if bm == nil { bm = roaring.New(); m[k] = bm }
			bm.Add(uint32(i))
		}
		i++
	}
}
