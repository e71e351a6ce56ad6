package accounts

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxFile bounds each file read (a passwd of a million lines is about
// 100 MiB; a file larger than this is refused rather than read).
const MaxFile = 64 << 20

// DB is one host's users and groups. For a name or id listed twice the
// first line counts, as getpwnam and getpwuid read them.
type DB struct {
	userName  map[uint32]string
	userID    map[string]uint32
	groupName map[uint32]string
	groupID   map[string]uint32
}

// Load reads dir/passwd and dir/group ("" is /etc).
func Load(dir string) (*DB, error) {
	if dir == "" {
		dir = "/etc"
	}
	db := &DB{userName: map[uint32]string{}, userID: map[string]uint32{}, groupName: map[uint32]string{}, groupID: map[string]uint32{}}
	if err := parse(filepath.Join(dir, "passwd"), db.userName, db.userID); err != nil {
		return nil, err
	}
	if err := parse(filepath.Join(dir, "group"), db.groupName, db.groupID); err != nil {
		return nil, err
	}
	return db, nil
}

// parse reads "name:x:id:..." lines; comments, blank lines and NIS
// "+"/"-" lines are skipped.
func parse(path string, byID map[uint32]string, byName map[string]uint32) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read the account database: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFile {
		return fmt.Errorf("%s is larger than %d bytes", path, MaxFile)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		parts := strings.SplitN(line, ":", 4)
		if len(parts) < 3 || parts[0] == "" {
			continue
		}
		id, err := strconv.ParseUint(parts[2], 10, 32)
		if err != nil {
			continue
		}
		if _, ok := byID[uint32(id)]; !ok {
			byID[uint32(id)] = parts[0]
		}
		if _, ok := byName[parts[0]]; !ok {
			byName[parts[0]] = uint32(id)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// UserName is uid's name, "" when it has none.
func (db *DB) UserName(uid uint32) string { return db.userName[uid] }

// GroupName is gid's name, "" when it has none.
func (db *DB) GroupName(gid uint32) string { return db.groupName[gid] }

// UserID is the user name's uid, -1 when unknown.
func (db *DB) UserID(name string) int64 {
	if id, ok := db.userID[name]; ok {
		return int64(id)
	}
	return -1
}

// GroupID is the group name's gid, -1 when unknown.
func (db *DB) GroupID(name string) int64 {
	if id, ok := db.groupID[name]; ok {
		return int64(id)
	}
	return -1
}
