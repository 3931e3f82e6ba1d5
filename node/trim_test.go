package node

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// TestTrimIfIdle checks that the memory a burst of work left free goes
// back once the node is idle, not while it is busy, and not twice for
// the same burst.
func TestTrimIfIdle(t *testing.T) {
	read := func() []metrics.Sample {
		s := make([]metrics.Sample, len(trimSamples))
		for i, name := range trimSamples {
			s[i].Name = name
		}
		metrics.Read(s)
		return s
	}
	burst := func() {
		var keep [][]byte
		for range 64 {
			keep = append(keep, make([]byte, 1<<20))
		}
		runtime.KeepAlive(keep)
	}
	burst()
	if _, trimmed := trimIfIdle(0, 0); trimmed {
		t.Fatal("trimmed while 64 MiB were just allocated: the node is busy")
	}
	burst()
	if held := heldFree(read()); held < trimFree {
		t.Skipf("the runtime already holds only %d bytes free", held)
	}
	now := read()[0].Value.Uint64()
	if _, trimmed := trimIfIdle(now, now-trimFree); !trimmed {
		t.Fatalf("an idle node holding %d bytes free did not trim", heldFree(read()))
	}
	if held := heldFree(read()); held >= trimFree {
		t.Fatalf("after a trim the runtime still holds %d bytes free", held)
	}
	burst()
	now = read()[0].Value.Uint64()
	if _, trimmed := trimIfIdle(now, now); trimmed {
		t.Fatal("trimmed again with nothing allocated since the last trim")
	}
}
