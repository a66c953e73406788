package web

import "testing"

// TestChartGeometry: stacked columns are scaled to the tallest column and
// stack upwards; horizontal bars scale to the top value; nothing to draw
// is said instead of drawn.
func TestChartGeometry(t *testing.T) {
	c := columns("c", "t", []string{"a", "b"}, []series{
		{Label: "ok", Fill: "green", Values: []int64{2, 4}},
		{Label: "bad", Fill: "red", Values: []int64{2, 0}},
	}, count)
	plotH := colH - colTop - colBottom
	if c.Empty || len(c.Bars) != 3 {
		t.Fatalf("bars: %+v", c.Bars)
	}
	a1, a2, b1 := c.Bars[0], c.Bars[1], c.Bars[2] // column a stacks ok then bad; column b
	if a1.H != plotH/2 || a2.H != plotH/2 || a2.Y+a2.H != a1.Y || b1.H != plotH || b1.Y != colTop {
		t.Errorf("geometry: %+v", c.Bars)
	}
	if a2.Tip != "a · bad: 2" {
		t.Errorf("tip %q", a2.Tip)
	}
	if e := columns("c", "t", []string{"a"}, []series{{Values: []int64{0}}}, count); !e.Empty {
		t.Error("an all-zero chart is drawn")
	}
	h := bars("h", "t", []barRow{{Label: "x", Value: 500}, {Label: "y", Value: 1000}}, 1000)
	span := barW - barLabelW - barValueW
	if h.Bars[0].W != span/2 || h.Bars[1].W != span {
		t.Errorf("bars: %+v", h.Bars)
	}
	if money(1_250_000) != "Rp 1,2 jt" || money(15_000) != "Rp 15 rb" {
		t.Errorf("money: %s %s", money(1_250_000), money(15_000))
	}
}
