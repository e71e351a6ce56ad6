package audit

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// artifacts keeps the rendered demo move for people to look at; the
// directory is git-ignored.
const artifacts = "testdata/artifacts"

// demoReport renders report.html of a recorded demo move: demo_move
// committed; demo_rollback was rolled back during soak after a refused
// approval from mallory with CR, LF and | in her comment.
func demoReport(t *testing.T, name string) []byte {
	t.Helper()
	e, err := NewEvidence("umzug/finance/finance", loadHistory(t, "testdata/"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := e.Report.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// report.html needs nothing from the network and no script.
func TestHTMLIsSelfContained(t *testing.T) {
	html := string(demoReport(t, "demo_move"))
	for _, bad := range []string{"<script", "<link", "<img", "@import", "url("} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	if urls := regexp.MustCompile(`https?://[^"\s<]+`).FindAllString(html, -1); len(urls) != 1 || urls[0] != "http://www.w3.org/2000/svg" {
		t.Errorf("report.html refers to %v", urls)
	}
	for _, want := range []string{"@page { size: A4", "<svg", `class="window"`, "ph-cutover", "check health", "SHA256:"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// The demo move's report renders in headless Chromium to a readable PNG
// and an A4 PDF.
func TestHTMLRendersInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"demo_move", "demo_rollback"} {
		t.Run(name, func(t *testing.T) { renderInChromium(t, chromium, name) })
	}
}

func renderInChromium(t *testing.T, chromium, name string) {
	tmp := t.TempDir()
	page := filepath.Join(tmp, "report.html")
	if err := os.WriteFile(page, demoReport(t, name), 0o644); err != nil {
		t.Fatal(err)
	}
	shot, _ := filepath.Abs(filepath.Join(artifacts, name+".png"))
	pdf, _ := filepath.Abs(filepath.Join(artifacts, name+".pdf"))
	os.Remove(shot)
	os.Remove(pdf)
	run := func(args ...string) {
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--user-data-dir=" + filepath.Join(tmp, "profile"), "--no-pdf-header-footer"}, args...)
		if out, err := exec.Command(chromium, append(args, "file://"+page)...).CombinedOutput(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, out)
		}
	}
	run("--screenshot="+shot, "--window-size=1000,1600")
	run("--print-to-pdf=" + pdf)
	checkPNG(t, shot, 1000, 1600)
	checkPDF(t, pdf)
}

// checkPNG wants the given size and a picture, not a blank page.
func checkPNG(t *testing.T, file string, w, h int) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("%s is %dx%d, want %dx%d", file, b.Dx(), b.Dy(), w, h)
	}
	if n := colours(img); n < 20 {
		t.Fatalf("%s has %d colours: a blank page", file, n)
	}
}

func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// checkPDF wants at least one A4 page and some content.
func checkPDF(t *testing.T, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || len(b) < 20<<10 {
		t.Fatalf("%s: %d bytes, not a PDF with content", file, len(b))
	}
	pages := regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(b, -1)
	if len(pages) < 1 {
		t.Fatalf("%s has no page", file)
	}
	// A4 is 595.28 x 841.89 points.
	if !regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+59[45](\.\d+)?\s+84[12](\.\d+)?\s*\]`).Match(b) {
		t.Fatalf("%s: no A4 MediaBox", file)
	}
	t.Logf("%s: %d pages, %d KiB", file, len(pages), len(b)>>10)
}
