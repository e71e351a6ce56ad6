# A rehearsal of the finance move against copies of the data: no approval
# and a quick size+mtime comparison. `umzug validate` warns about both on
# purpose; the real plan (finance.hcl) has neither shortcut.

variable "scratch" {
  type    = string
  default = "/srv/rehearsal"
}

datacenter "paderborn" {
  description = "GKD Paderborn"
}

datacenter "lemgo" {
  description = "krz Lemgo (certified site)"
}

host "fin_pb" {
  datacenter  = datacenter.paderborn
  address     = "10.20.1.15:22"
  user        = "migrate"
  agent       = true
  known_hosts = "~/.ssh/known_hosts"
}

host "fin_lg_test" {
  datacenter  = datacenter.lemgo
  address     = "10.40.9.21:22"
  user        = "migrate"
  agent       = true
  known_hosts = "~/.ssh/known_hosts"
}

application "finance_rehearsal" {
  description = "Finanzwesen, Probelauf"
  source      = host.fin_pb
  target      = host.fin_lg_test

  copy "ledger" {
    from    = "/srv/finance/data"
    to      = "${var.scratch}/finance/data"
    exclude = ["**/*.tmp", "cache/**"]
    verify  = "size_mtime"
    delete  = true
  }

  cutover {
    final_sync {}
    check "files" {
      on  = "target"
      run = "test -s ${var.scratch}/finance/data/ledger.db"
    }
  }

  soak = "10m"
}
