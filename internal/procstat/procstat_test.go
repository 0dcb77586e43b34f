package procstat

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestKBLine(t *testing.T) {
	text := "Name:\ttubelake\nVmHWM:\t  524288 kB\nVmRSS:\t  1024 kB\n"
	for _, c := range []struct {
		field string
		want  int64
	}{{"VmHWM", 512 << 20}, {"VmRSS", 1 << 20}, {"VmSwap", 0}, {"Name", 0}} {
		if got := kBLine(text, c.field); got != c.want {
			t.Errorf("%s: %d, want %d", c.field, got, c.want)
		}
	}
}

func TestReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if RSS() <= 0 || Status("VmHWM") < RSS()/2 || MemTotal() <= 0 {
		t.Fatalf("RSS %d, VmHWM %d, MemTotal %d", RSS(), Status("VmHWM"), MemTotal())
	}
	if l := LoadAvg(); len(strings.Fields(l)) != 3 || LoadAvg1() != strings.Fields(l)[0] {
		t.Fatalf("load %q / %q", l, LoadAvg1())
	}
	c0 := CPU()
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	if CPU() <= c0 {
		t.Fatal("CPU time did not grow while spinning")
	}
	s := StartPeakRSS(time.Millisecond)
	if p := s.Stop(); p <= 0 || s.Stop() != p {
		t.Fatalf("peak %d", p)
	}
	if !strings.Contains(Machine(), "logical CPUs") {
		t.Fatalf("machine %q", Machine())
	}
}

func TestGC(t *testing.T) {
	g0 := GC()
	runtime.GC()
	runtime.GC()
	d := GC().Sub(g0)
	if d.Cycles < 2 || d.CPU <= 0 {
		t.Fatalf("after two forced collections: %+v", d)
	}
}
