package textscreen

import (
	"image"
	"image/color"
	"testing"
)

// cell returns the bounds of the character cell at (col, row).
func cell(col, row int) image.Rectangle {
	x, y := Margin+col*CellWidth, Margin+row*CellHeight
	return image.Rect(x, y, x+CellWidth, y+CellHeight)
}

// countFG counts foreground pixels of img inside r and fails on any pixel
// that is neither foreground nor background.
func countFG(t *testing.T, img *image.RGBA, r image.Rectangle) int {
	t.Helper()
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			switch c := img.RGBAAt(x, y); c {
			case Foreground():
				n++
			case Background():
			default:
				t.Fatalf("pixel (%d,%d) = %v, want only foreground or background", x, y, c)
			}
		}
	}
	return n
}

// sameRegion reports whether a and b have identical pixels inside r.
func sameRegion(a, b *image.RGBA, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				return false
			}
		}
	}
	return true
}

func TestSize(t *testing.T) {
	w, h := Size(80, 25)
	if w != 80*7+8 || h != 25*13+8 {
		t.Fatalf("Size(80, 25) = %d, %d; want 568, 333", w, h)
	}
}

func TestColoursAreLightOnDark(t *testing.T) {
	lum := func(c color.RGBA) int { return 299*int(c.R) + 587*int(c.G) + 114*int(c.B) }
	if lum(Foreground()) < 4*lum(Background()) {
		t.Fatalf("foreground %v is not clearly lighter than background %v", Foreground(), Background())
	}
}

func TestBlankScreenIsBackground(t *testing.T) {
	img := Render(nil, 50, 30)
	if img.Bounds() != image.Rect(0, 0, 50, 30) {
		t.Fatalf("bounds = %v, want 50x30", img.Bounds())
	}
	if n := countFG(t, img, img.Bounds()); n != 0 {
		t.Fatalf("blank screen has %d foreground pixels", n)
	}
	if n := countFG(t, Render([]string{"   "}, 50, 30), img.Bounds()); n != 0 {
		t.Fatalf("spaces drew %d foreground pixels", n)
	}
}

func TestGlyphStaysInItsCell(t *testing.T) {
	w, h := Size(3, 2)
	img := Render([]string{"", " A"}, w, h)
	in := countFG(t, img, cell(1, 1))
	if in == 0 {
		t.Fatal("no foreground pixels in the cell of 'A'")
	}
	if all := countFG(t, img, img.Bounds()); all != in {
		t.Fatalf("%d foreground pixels outside the cell of 'A'", all-in)
	}
}

func TestDistinctCharactersDiffer(t *testing.T) {
	w, h := Size(1, 1)
	a, b := Render([]string{"A"}, w, h), Render([]string{"B"}, w, h)
	if sameRegion(a, b, cell(0, 0)) {
		t.Fatal("'A' and 'B' render identically")
	}
}

func TestColumnsAlign(t *testing.T) {
	w, h := Size(12, 1)
	cases := []struct{ got, want string }{
		{"AB", " B"},
		{"\tX", "        X"},
		{"abc\tX", "        X"},
		{"é?", "??"},      // not in the font
		{"\x01Z", "?Z"},   // control character
		{"\u00e9Z", "?Z"}, // one cell per rune, not per byte
	}
	for _, c := range cases {
		got, want := Render([]string{c.got}, w, h), Render([]string{c.want}, w, h)
		last := len([]rune(c.want)) - 1
		if !sameRegion(got, want, cell(last, 0)) {
			t.Errorf("Render(%q) differs from Render(%q) in column %d", c.got, c.want, last)
		}
	}
}

func TestClipsWithoutPanicking(t *testing.T) {
	long := make([]string, 100)
	for i := range long {
		long[i] = "a line that is far too long for this very small screen"
	}
	for _, sz := range [][2]int{{20, 10}, {1, 1}, {0, 0}, {-5, 7}} {
		img := Render(long, sz[0], sz[1])
		if got, want := img.Bounds().Size(), (image.Point{max(sz[0], 0), max(sz[1], 0)}); got != want {
			t.Errorf("Render(..., %d, %d) size %v, want %v", sz[0], sz[1], got, want)
		}
	}
}
