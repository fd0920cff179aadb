// Package termscreen replays a program's terminal output onto a screen of
// text lines, so tests can check what a person sees at the end rather
// than every byte drawn on the way. It knows the little that progress bars
// use: printable text, carriage return, newline, cursor up (CSI n A) and
// erase below (CSI J, CSI 0 J) or erase line (CSI K, CSI 2 K); other
// escape sequences are dropped.
package termscreen

import "strings"

// Screen is the replayed text: one string per line, trailing spaces
// trimmed, empty trailing lines dropped.
func Screen(output string) []string {
	var lines [][]rune
	row, col := 0, 0
	put := func(r rune) {
		for len(lines) <= row {
			lines = append(lines, nil)
		}
		for len(lines[row]) < col {
			lines[row] = append(lines[row], ' ')
		}
		if col < len(lines[row]) {
			lines[row][col] = r
		} else {
			lines[row] = append(lines[row], r)
		}
		col++
	}
	rs := []rune(output)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\r':
			col = 0
		case r == '\n':
			row++
			col = 0 // a pty's ONLCR makes every newline a CR LF
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			// CSI: parameter bytes, then one final byte.
			j := i + 2
			for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
				j++
			}
			if j == len(rs) {
				i = j
				break
			}
			param := string(rs[i+2 : j])
			n := 0
			for _, c := range param {
				if c >= '0' && c <= '9' {
					n = n*10 + int(c-'0')
				}
			}
			switch rs[j] {
			case 'A':
				row -= max(n, 1)
				row = max(row, 0)
			case 'J':
				if param == "" || param == "0" {
					if row < len(lines) {
						lines[row] = lines[row][:min(col, len(lines[row]))]
						lines = lines[:row+1]
					}
				}
			case 'K':
				if row < len(lines) {
					if param == "2" {
						lines[row] = nil
					} else if param == "" || param == "0" {
						lines[row] = lines[row][:min(col, len(lines[row]))]
					}
				}
			}
			i = j
		case r == 0x1b:
			i++ // a two-byte escape: dropped
		case r < 0x20 || r == 0x7f:
			// other control characters draw nothing
		default:
			put(r)
		}
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
