package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
)

func writeJobs(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(jobs []contract.OffloadJob) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

// Claim moves the selected jobs into the claimed area with their
// digests, honours the limits, claims nothing twice on a second run,
// never follows a planted symlink, and release puts every job not taken
// back where it was.
func TestOffloadJobsClaimReleaseArchive(t *testing.T) {
	f := newCopyFixture(t)
	root := filepath.Join(f.dir, "queue-root")
	writeJobs(t, root, map[string]string{
		"queue/a.pdf": "job a", "queue/b.pdf": "job b", "queue/c.pdf": "job c",
		"queue/d/part1": "d1", "queue/d/part2": "d2", "other/x.pdf": "not selected",
	})
	outside := filepath.Join(f.dir, "outside")
	writeJobs(t, outside, map[string]string{"secret": "do not move"})
	if err := os.Symlink(outside, filepath.Join(root, "queue", "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "queue", "bad name.pdf"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadClaim, Root: root, Key: "peak-1",
		Select: []string{"queue/*"}, MaxJobs: 3}
	res, err := f.a.OffloadJobs(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(res.Jobs), []string{"queue/a.pdf", "queue/b.pdf", "queue/c.pdf"}; !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want %v (left %v)", got, want, res.Left)
	}
	sum := sha256.Sum256([]byte("job a"))
	if res.Jobs[0].SHA256 != hex.EncodeToString(sum[:]) || res.Jobs[0].Bytes != 5 {
		t.Fatalf("job a: %+v", res.Jobs[0])
	}
	if res.Over < 1 {
		t.Fatalf("the limit left nothing over: %+v", res)
	}
	claimed := filepath.Join(root, contract.OffloadArea, "peak-1", "claimed")
	if _, err := os.Stat(filepath.Join(claimed, "queue/a.pdf")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "queue/a.pdf")); !os.IsNotExist(err) {
		t.Fatalf("a claimed job is still in the queue: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Fatalf("the symlink's target was touched: %v", err)
	}
	// Again (a retried activity): the same jobs, nothing more claimed.
	again, err := f.a.OffloadJobs(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(again.Jobs), ids(res.Jobs)) {
		t.Fatalf("second claim %v, first %v", ids(again.Jobs), ids(res.Jobs))
	}
	// Another offload over the same queue gets the rest, never a job
	// claimed by the first.
	other, err := f.a.OffloadJobs(ctx, contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadClaim, Root: root, Key: "peak-2",
		Select: []string{"queue/*"}, MaxJobs: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range other.Jobs {
		if slices.Contains(ids(res.Jobs), j.ID) {
			t.Fatalf("job %s claimed twice", j.ID)
		}
	}
	if !slices.Contains(ids(other.Jobs), "queue/d") {
		t.Fatalf("directory job not claimed: %v (left %v)", ids(other.Jobs), other.Left)
	}
	// Release of peak-1 keeping b (the partner took it in).
	rel, err := f.a.OffloadJobs(ctx, contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadRelease, Root: root, Key: "peak-1",
		Keep: []string{"queue/b.pdf"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rel.Done, []string{"queue/a.pdf", "queue/c.pdf"}) {
		t.Fatalf("released %v", rel.Done)
	}
	if b, err := os.ReadFile(filepath.Join(root, "queue/a.pdf")); err != nil || string(b) != "job a" {
		t.Fatalf("a not back in the queue: %q %v", b, err)
	}
	// Archive b with a record.
	arc, err := f.a.OffloadJobs(ctx, contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadArchive, Root: root, Key: "peak-1",
		Jobs: []string{"queue/b.pdf"}, Record: `{"jobs":1}`})
	if err != nil || !slices.Equal(arc.Done, []string{"queue/b.pdf"}) {
		t.Fatalf("archive: %+v %v", arc, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, contract.OffloadArea, "peak-1", "archive", "queue/b.pdf")); err != nil || string(b) != "job b" {
		t.Fatalf("b not archived: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, contract.OffloadArea, "peak-1", "record.json")); string(b) != `{"jobs":1}` {
		t.Fatalf("record: %q", b)
	}
}

// A job whose place in the queue is taken again stays claimed on
// release and is named: nothing is overwritten.
func TestOffloadJobsReleaseNeverReplaces(t *testing.T) {
	f := newCopyFixture(t)
	root := filepath.Join(f.dir, "q")
	writeJobs(t, root, map[string]string{"jobs/a": "old"})
	ctx := context.Background()
	if _, err := f.a.OffloadJobs(ctx, contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadClaim, Root: root, Key: "k",
		Select: []string{"jobs/*"}}); err != nil {
		t.Fatal(err)
	}
	writeJobs(t, root, map[string]string{"jobs/a": "new"})
	rel, err := f.a.OffloadJobs(ctx, contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadRelease, Root: root, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rel.Done) != 0 || len(rel.Left) != 1 {
		t.Fatalf("release: %+v", rel)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "jobs/a")); string(b) != "new" {
		t.Fatalf("queue file overwritten: %q", b)
	}
}

// A retried archive (a worker lost after the moves) finds the jobs
// archived and reports them again; a release afterwards moves nothing.
func TestOffloadJobsArchiveTwice(t *testing.T) {
	f := newCopyFixture(t)
	root := filepath.Join(f.dir, "q")
	writeJobs(t, root, map[string]string{"jobs/a": "a", "jobs/b/1": "b"})
	ctx := context.Background()
	in := contract.OffloadJobsInput{Host: f.src, Root: root, Key: "k", Select: []string{"jobs/*"}}
	in.Op = contract.OffloadClaim
	if _, err := f.a.OffloadJobs(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.Op, in.Jobs, in.Record = contract.OffloadArchive, []string{"jobs/a", "jobs/b"}, "{}"
	for range 2 {
		res, err := f.a.OffloadJobs(ctx, in)
		if err != nil || !slices.Equal(res.Done, in.Jobs) || len(res.Left) != 0 {
			t.Fatalf("archive: %+v %v", res, err)
		}
	}
	rel, err := f.a.OffloadJobs(ctx, contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadRelease, Root: root, Key: "k"})
	if err != nil || len(rel.Done) != 0 {
		t.Fatalf("release after archive: %+v %v", rel, err)
	}
	if _, err := os.Stat(filepath.Join(root, "jobs/a")); !os.IsNotExist(err) {
		t.Fatalf("an archived job came back to the queue: %v", err)
	}
}

// A job-list file names the jobs instead of globs: listed jobs that are
// there are claimed, a missing one is skipped, an unsafe name is named
// and left alone, and --select narrows the list.
func TestOffloadJobsSelectList(t *testing.T) {
	f := newCopyFixture(t)
	root := filepath.Join(f.dir, "q")
	writeJobs(t, root, map[string]string{"jobs/a.pdf": "a", "jobs/b.pdf": "b", "other/c.pdf": "c", "jobs/-x.pdf": "x"})
	list := filepath.Join(f.dir, "joblist")
	if err := os.WriteFile(list, []byte("jobs/a.pdf\njobs/gone.pdf\n../etc/passwd\njobs/-x.pdf\nother/c.pdf\njobs/b.pdf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := f.a.OffloadJobs(context.Background(), contract.OffloadJobsInput{Host: f.src, Op: contract.OffloadClaim, Root: root, Key: "k",
		SelectList: list, Narrow: "jobs/*", MaxJobs: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res.Jobs); !slices.Equal(got, []string{"jobs/a.pdf", "jobs/b.pdf"}) {
		t.Fatalf("claimed %v (left %v)", got, res.Left)
	}
	if len(res.Left) != 1 || !strings.Contains(res.Left[0], "-x.pdf") {
		t.Fatalf("left %v", res.Left)
	}
	for _, p := range []string{"other/c.pdf", "jobs/-x.pdf"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("%s left the queue: %v", p, err)
		}
	}
}
