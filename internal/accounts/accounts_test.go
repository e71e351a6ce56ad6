package accounts

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "passwd"), []byte("# c\nroot:x:0:0::/root:/bin/sh\nfin:x:2101:2101::/:/bin/false\n+nis\nfin:x:9:9::/:/bin/false\nbad:x:nope:1::/:\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "group"), []byte("root:x:0:\nfin:x:2101:\nclerks:x:3000:fin,lohn\n"), 0o644)
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.UserName(2101) != "fin" || db.UserID("fin") != 2101 || db.UserName(9) != "fin" || db.UserID("bad") != -1 || db.UserID("+nis") != -1 {
		t.Fatalf("users: %+v", db)
	}
	if db.GroupID("clerks") != 3000 || db.GroupName(3000) != "clerks" || db.GroupName(5) != "" {
		t.Fatalf("groups: %+v", db)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("missing files loaded")
	}
}
