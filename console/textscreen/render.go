package textscreen

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Geometry of the character grid, in pixels.
const (
	CellWidth  = 7  // advance of one character
	CellHeight = 13 // height of one text row
	Margin     = 4  // blank border on every side
	tabWidth   = 8  // tab stops every 8 columns
)

// Background is the colour of every pixel that is not part of a glyph:
// near-black, as a VGA text console.
func Background() color.RGBA { return color.RGBA{0x10, 0x10, 0x10, 0xff} }

// Foreground is the colour of glyph pixels: light grey.
func Foreground() color.RGBA { return color.RGBA{0xd0, 0xd0, 0xd0, 0xff} }

// Size returns the pixel size of a screen holding cols columns and rows
// rows of text, margins included.
func Size(cols, rows int) (w, h int) {
	return cols*CellWidth + 2*Margin, rows*CellHeight + 2*Margin
}

// Render draws lines, one per text row from the top, on a new w×h image
// (an empty one when w or h is not positive). Every character occupies one
// CellWidth-wide cell, so columns line up; tabs advance to the next multiple
// of 8 columns, other control characters and characters the font lacks are
// drawn as '?'. Text that does not fit is clipped.
func Render(lines []string, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, max(w, 0), max(h, 0)))
	draw.Draw(img, img.Bounds(), image.NewUniform(Background()), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	fg := image.NewUniform(Foreground())
	for row, line := range lines {
		top := Margin + row*CellHeight
		if top >= h {
			break
		}
		col := 0
		for _, r := range line {
			if r == '\t' {
				col += tabWidth - col%tabWidth
				continue
			}
			x := Margin + col*CellWidth
			col++
			if x >= w {
				break
			}
			if r == ' ' {
				continue
			}
			dot := fixed.P(x, top+face.Ascent)
			dr, mask, mp, _, ok := face.Glyph(dot, r)
			if !ok || r < ' ' || r == 0x7f {
				dr, mask, mp, _, _ = face.Glyph(dot, '?')
			}
			draw.DrawMask(img, dr, fg, image.Point{}, mask, mp, draw.Over)
		}
	}
	return img
}
