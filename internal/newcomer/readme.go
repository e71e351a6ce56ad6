package newcomer

import (
	"bufio"
	"fmt"
	"strings"
)

// Marker precedes a fenced shell block in README.md whose commands the
// newcomer lane runs: "<!-- newcomer:NAME -->". It renders as nothing.
const markerPrefix = "<!-- newcomer:"

// Commands returns the commands of every marked block in readme, by the
// marker's name, one command per non-empty, non-comment line.
func Commands(readme string) (map[string][]string, error) {
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(readme))
	name, inBlock, lineNo := "", false, 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, markerPrefix):
			name = strings.TrimSuffix(strings.TrimPrefix(line, markerPrefix), " -->")
		case name != "" && !inBlock && strings.HasPrefix(line, "```"):
			inBlock = true
		case inBlock && line == "```":
			if len(out[name]) == 0 {
				return nil, fmt.Errorf("README.md:%d: block %q has no command", lineNo, name)
			}
			name, inBlock = "", false
		case inBlock && line != "" && !strings.HasPrefix(line, "#"):
			out[name] = append(out[name], line)
		case name != "" && !inBlock && line != "":
			return nil, fmt.Errorf("README.md:%d: marker newcomer:%s is not followed by a code block", lineNo, name)
		}
	}
	if inBlock {
		return nil, fmt.Errorf("README.md: block %q is not closed", name)
	}
	return out, sc.Err()
}
