package web

import (
	"fmt"
	"strconv"
)

// Charts are drawn on the server as SVG: no script, no library, readable
// without JavaScript and scaled to the screen by their viewBox. A chart is
// only geometry; the template chart.html turns it into elements.

// chart is one SVG chart.
type chart struct {
	ID, Title string
	W, H      int // the viewBox
	Bars      []chartBar
	Labels    []chartLabel
	Lines     []chartLine
	Legend    []legendItem
	Empty     bool // nothing to draw: the template says so instead
}

// chartBar is a rectangle with a tooltip.
type chartBar struct {
	X, Y, W, H int
	Fill       string
	Tip        string
}

// chartLabel is a piece of text; Anchor is start, middle or end.
type chartLabel struct {
	X, Y   int
	Text   string
	Anchor string
}

// chartLine is a grid line.
type chartLine struct{ X1, Y1, X2, Y2 int }

// legendItem names a colour.
type legendItem struct{ Fill, Label string }

// series is one stacked part of a column chart.
type series struct {
	Label  string
	Fill   string
	Values []int64 // one per column
}

// Geometry of the column charts.
const (
	colW, colH            = 640, 220
	colLeft, colRight     = 84, 8
	colTop, colBottom     = 10, 26
	barRowH, barLabelW    = 32, 190
	barW, barValueW, barT = 640, 70, 8
)

// columns draws stacked columns, one per label, with the top value on
// the axis; format writes a value.
func columns(id, title string, labels []string, ss []series, format func(int64) string) chart {
	c := chart{ID: id, Title: title, W: colW, H: colH}
	n := len(labels)
	totals := make([]int64, n)
	var top int64
	for _, s := range ss {
		c.Legend = append(c.Legend, legendItem{s.Fill, s.Label})
		for i, v := range s.Values {
			totals[i] += v
			top = max(top, totals[i])
		}
	}
	if n == 0 || top == 0 {
		c.Empty = true
		return c
	}
	plotH := colH - colTop - colBottom
	plotW := colW - colLeft - colRight
	base := colTop + plotH
	c.Lines = append(c.Lines, chartLine{colLeft, colTop, colW - colRight, colTop}, chartLine{colLeft, base, colW - colRight, base})
	c.Labels = append(c.Labels, chartLabel{colLeft - 6, colTop + 4, format(top), "end"}, chartLabel{colLeft - 6, base, "0", "end"})
	step := plotW / n
	gap := max(step/5, 1)
	every := (n + 6) / 7 // at most about seven labels under the axis
	for i := range n {
		x := colLeft + i*step + gap/2
		y := base
		for _, s := range ss {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			h := int(int64(plotH) * v / top)
			if h == 0 {
				h = 1
			}
			y -= h
			c.Bars = append(c.Bars, chartBar{X: x, Y: y, W: step - gap, H: h, Fill: s.Fill,
				Tip: fmt.Sprintf("%s · %s: %s", labels[i], s.Label, format(v))})
		}
		if i%every == 0 || i == n-1 {
			c.Labels = append(c.Labels, chartLabel{x + (step-gap)/2, colH - 8, labels[i], "middle"})
		}
	}
	return c
}

// barRow is one row of a horizontal bar chart.
type barRow struct {
	Label string
	Value int64
	Text  string // the value as shown
	Fill  string
}

// bars draws horizontal bars, one row each, scaled to top (the largest
// value when top is 0).
func bars(id, title string, rows []barRow, top int64) chart {
	c := chart{ID: id, Title: title, W: barW, H: barT*2 + barRowH*max(len(rows), 1)}
	if top == 0 {
		for _, r := range rows {
			top = max(top, r.Value)
		}
	}
	if len(rows) == 0 {
		c.Empty = true
		return c
	}
	span := barW - barLabelW - barValueW
	for i, r := range rows {
		y := barT + i*barRowH
		w := 0
		if top > 0 {
			w = int(int64(span) * r.Value / top)
		}
		c.Lines = append(c.Lines, chartLine{barLabelW, y + barRowH - 2, barLabelW + span, y + barRowH - 2})
		c.Bars = append(c.Bars, chartBar{X: barLabelW, Y: y + 4, W: max(w, 1), H: barRowH - 10, Fill: r.Fill,
			Tip: r.Label + ": " + r.Text})
		c.Labels = append(c.Labels, chartLabel{barLabelW - 8, y + barRowH/2 + 4, r.Label, "end"},
			chartLabel{barLabelW + w + 6, y + barRowH/2 + 4, r.Text, "start"})
	}
	return c
}

// count writes a count.
func count(n int64) string { return strconv.FormatInt(n, 10) }

// money writes rupiah, shortened on the axis: "Rp 1,2 jt".
func money(n int64) string {
	switch {
	case n >= 1_000_000_000:
		return fmt.Sprintf("Rp %d,%d M", n/1_000_000_000, n%1_000_000_000/100_000_000)
	case n >= 1_000_000:
		return fmt.Sprintf("Rp %d,%d jt", n/1_000_000, n%1_000_000/100_000)
	case n >= 1_000:
		return fmt.Sprintf("Rp %d rb", n/1_000)
	}
	return "Rp " + strconv.FormatInt(n, 10)
}
