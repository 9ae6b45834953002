package rfb

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/textscreen"
	"github.com/latchkey/latchkey/internal/testutil"
)

// quadrants is a screen of four solid colours with text in the last one, so
// that a lossy JPEG still shows whether channels arrived in place.
func quadrants() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 320, 200))
	fill := func(r image.Rectangle, c color.RGBA) { draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src) }
	fill(image.Rect(0, 0, 160, 100), color.RGBA{220, 30, 30, 255})
	fill(image.Rect(160, 0, 320, 100), color.RGBA{30, 220, 30, 255})
	fill(image.Rect(0, 100, 160, 200), color.RGBA{30, 30, 220, 255})
	text := textscreen.Render([]string{"vncsnapshot", "test"}, 160, 100)
	draw.Draw(img, image.Rect(160, 100, 320, 200), text, image.Point{}, draw.Src)
	return img
}

// meanColour averages img over r.
func meanColour(img image.Image, r image.Rectangle) [3]int {
	var sum [3]int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			sum[0] += int(cr >> 8)
			sum[1] += int(cg >> 8)
			sum[2] += int(cb >> 8)
		}
	}
	n := r.Dx() * r.Dy()
	return [3]int{sum[0] / n, sum[1] / n, sum[2] / n}
}

// vncsnapshot speaks RFB 3.3 and picks its own pixel format: it must get
// the screen with the right passwd file and fail with a wrong one.
func TestVncsnapshotAgainstServer(t *testing.T) {
	bin := testutil.Program(t, "vncsnapshot", "apt-get install vncsnapshot")
	p := &passwords{vnc: "Passw0rdA"}
	cfg := p.config()
	cfg.Screen = quadrants
	addr, _ := serveTCP(t, cfg)
	_, port, _ := net.SplitHostPort(addr)

	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right.passwd"), filepath.Join(dir, "wrong.passwd")
	writePasswdFile(t, right, "Passw0rdA")
	writePasswdFile(t, wrong, "WrongPw1")

	snap := func(passwd, out string) ([]byte, error) {
		// vncsnapshot hangs on some servers (vnc-backends.md §3); bound it.
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-quiet", "-allowblank", "-encodings", "raw",
			"-passwd", passwd, "127.0.0.1::"+port, out)
		log, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("vncsnapshot did not finish: %s", log)
		}
		return log, err
	}

	out := filepath.Join(dir, "right.jpg")
	if log, err := snap(right, out); err != nil {
		t.Fatalf("right passwd file: %v\n%s", err, log)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("output is not a JPEG: %v", err)
	}
	if img.Bounds().Size() != (image.Point{320, 200}) {
		t.Fatalf("snapshot size %v, want 320x200", img.Bounds().Size())
	}
	src := quadrants()
	for _, r := range []image.Rectangle{
		image.Rect(20, 20, 140, 80), image.Rect(180, 20, 300, 80), image.Rect(20, 120, 140, 180),
	} {
		got, want := meanColour(img, r), meanColour(src, r)
		for i := range got {
			if d := got[i] - want[i]; d < -24 || d > 24 {
				t.Fatalf("area %v: mean colour %v, want about %v", r, got, want)
			}
		}
	}

	out = filepath.Join(dir, "wrong.jpg")
	if log, err := snap(wrong, out); err == nil {
		t.Fatalf("wrong passwd file: vncsnapshot succeeded\n%s", log)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("wrong passwd file: a snapshot was written")
	}
	if got := [2]int32{p.ok.Load(), p.fail.Load()}; got != [2]int32{1, 1} {
		t.Fatalf("OnAuth (ok, fail) = %v, want [1 1]", got)
	}
}
