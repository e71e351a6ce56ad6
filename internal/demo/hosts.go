package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/umzug-dev/umzug/internal/sshserver"
)

// financeHosts are the finance application's hosts besides its
// application servers: plan host name, the data center whose directory
// it serves, and the plan variable its address goes into.
var financeHosts = []struct{ name, site, addrVar string }{
	{"db_pb", "paderborn", "paderborn_db_address"},
	{"db_lg", "lemgo", "lemgo_db_address"},
	{"files_pb", "paderborn", "paderborn_files_address"},
	{"files_lg", "lemgo", "lemgo_files_address"},
	{"dns_lg", "lemgo", "lemgo_dns_address"},
}

// startFinanceHosts starts an SSH server with its own host key for each
// further host of the finance plan on a free loopback port, adds them to
// known_hosts and Vars, and writes the database's and the file share's
// sample data at Paderborn (a few dozen small files: the demo stays
// quick).
func (e *Env) startFinanceHosts() error {
	e.Hosts = map[string]*Site{}
	known := filepath.Join(e.Dir, "keys", "known_hosts")
	lines := []string{e.Source.Server.KnownHostsLine(), e.Target.Server.KnownHostsLine()}
	for _, h := range financeHosts {
		root := filepath.Join(e.Dir, h.site)
		site := &Site{Name: h.name, Root: root, dir: e.Dir, client: e.clientKey}
		if err := site.listen("127.0.0.1:0"); err != nil {
			return err
		}
		e.Hosts[h.name] = site
		e.Vars[h.addrVar] = site.Server.Addr()
		lines = append(lines, site.Server.KnownHostsLine())
	}
	if err := sshserver.WriteKnownHosts(known, lines...); err != nil {
		return err
	}
	pb, lg := e.Source.Root, e.Target.Root
	if err := writeFiles(filepath.Join(pb, "var/lib/postgresql/data"), map[string]string{
		"PG_VERSION":          "16\n",
		"postgresql.conf":     "listen_addresses = 'localhost'\nport = 5432\n",
		"global/pg_control":   "pg_control of the finance cluster\n",
		"base/16384/16385":    "ledger table pages\n",
		"base/16384/16386":    "invoice table pages\n",
		"pg_wal/000000010001": "write-ahead log segment\n",
	}); err != nil {
		return err
	}
	if err := writeFiles(filepath.Join(pb, "export/finanz"), map[string]string{
		"Haushalt/2026/Haushaltsplan.ods":      "Haushaltsplan 2026\n",
		"Haushalt/2026/Nachtrag 1.ods":         "Nachtrag 1\n",
		"Kasse/Tagesabschluss 2026-11-30.pdf":  "%PDF-1.7 Tagesabschluss\n",
		"Vorlagen/Zahlungsanweisung.dotx":      "Vorlage\n",
		"Vorlagen/Mahnung.dotx":                "Vorlage Mahnung\n",
		"Prüfung/Jahresabschluss 2025 (1).pdf": "%PDF-1.7 Jahresabschluss\n",
	}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pb, "run/postgres.state"), []byte("running\n"), 0o644); err != nil {
		return err
	}
	for _, d := range []string{"var/lib/postgresql", "export"} {
		if err := os.MkdirAll(filepath.Join(lg, d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(lg, "run/finance.zone"), []byte("finance CNAME paderborn\n"), 0o644)
}

// writeFiles writes files (relative path → content) under root with a
// fixed modification time, so runs are alike.
func writeFiles(root string, files map[string]string) error {
	mt := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			return err
		}
	}
	return nil
}
