package diskspace

import "testing"

func TestOf(t *testing.T) {
	u, err := Of(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if u.Total == 0 || u.Free > u.Total {
		t.Fatalf("usage %+v", u)
	}
	for _, tc := range []struct {
		u    Usage
		want int
	}{{Usage{100, 100}, 0}, {Usage{100, 20}, 80}, {Usage{100, 0}, 100}, {Usage{}, 0}} {
		if got := tc.u.Percent(); got != tc.want {
			t.Errorf("%+v: %d %%, want %d", tc.u, got, tc.want)
		}
	}
}
