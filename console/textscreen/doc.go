// Package textscreen renders lines of text as a text-mode console screen:
// light fixed-width characters on a dark background, in the 7x13 bitmap
// font of golang.org/x/image/font/basicfont. Simulated consoles use it as
// the framebuffer their VNC server shows.
package textscreen
