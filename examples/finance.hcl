# Finance (Finanzwesen) moves from GKD Paderborn to krz Lemgo: the application
# server, its PostgreSQL host and its file share, switched on Lemgo's name server.
# `umzug demo` serves every host from in-process SSH servers on loopback and
# sets demo_dir, the addresses and window_start for this run; the defaults
# below are what it uses when nothing is overridden.

variable "demo_dir" {
  type        = string
  default     = "/tmp/umzug-demo"
  description = "Where umzug demo keeps the demo hosts' files, keys and known_hosts."
}

variable "paderborn_address" {
  type    = string
  default = "127.0.0.1:2222"
}

variable "lemgo_address" {
  type    = string
  default = "127.0.0.1:2223"
}

variable "window_start" {
  type        = string
  default     = "2030-06-07T18:00:00+02:00"
  description = "Start of the agreed cutover window (RFC 3339): set it with --var window_start=...; umzug demo sets it to now."
}

locals {
  pb = "${var.demo_dir}/paderborn"
  lg = "${var.demo_dir}/lemgo"
}

datacenter "paderborn" {
  description = "GKD Paderborn"
}

datacenter "lemgo" {
  description = "krz Lemgo (certified site)"
}

host "fin_pb" {
  datacenter    = datacenter.paderborn
  address       = var.paderborn_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

host "fin_lg" {
  datacenter    = datacenter.lemgo
  address       = var.lemgo_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

application "finance" {
  description = "Finanzwesen"
  source      = host.fin_pb
  target      = host.fin_lg

  copy "ledger" {
    from    = "${local.pb}/srv/finance/data"
    to      = "${local.lg}/srv/finance/data"
    exclude = ["**/*.tmp", "cache/**"]
    verify  = "sha256"
    delete  = true
  }

  cutover {
    window {
      not_before = var.window_start
      duration   = "4h"
    }
    approval {
      approvers = ["a.meier", "b.schulz", "c.yilmaz"]
      quorum    = 2
      four_eyes = true
      timeout   = "72h"
    }

    parallel {
      step "stop_app" {
        on      = "source"
        run     = "${local.pb}/bin/financectl stop"
        undo    = "${local.pb}/bin/financectl start"
        timeout = "2m"
      }
      step "stop_db" {
        on      = host.db_pb
        run     = "${local.pb}/bin/postgresctl stop"
        undo    = "${local.pb}/bin/postgresctl start"
        timeout = "2m"
      }
    }
    final_sync {}
    step "start_db" {
      on   = host.db_lg
      run  = "${local.lg}/bin/postgresctl start"
      undo = "${local.lg}/bin/postgresctl stop"
    }
    step "start_app" {
      on   = "target"
      run  = "${local.lg}/bin/financectl start"
      undo = "${local.lg}/bin/financectl stop"
    }
    step "switch_dns" {
      on   = host.dns_lg
      run  = "${local.lg}/bin/dnsctl point finance lemgo"
      undo = "${local.lg}/bin/dnsctl point finance paderborn"
    }
    check "health" {
      on       = "target"
      run      = "${local.lg}/bin/financectl health"
      retries  = 5
      interval = "2s"
    }
  }

  # The database and the file share move with the application: each copy
  # set between its own hosts, in the same approval, window and rollback.
  copy "pgdata" {
    source = host.db_pb
    target = host.db_lg
    from   = "${local.pb}/var/lib/postgresql/data"
    to     = "${local.lg}/var/lib/postgresql/data"
    delete = true
  }

  copy "share" {
    source = host.files_pb
    target = host.files_lg
    from   = "${local.pb}/export/finanz"
    to     = "${local.lg}/export/finanz"
    delete = true
  }

  soak = "10m"
}

variable "paderborn_db_address" {
  type    = string
  default = "127.0.0.1:2224"
}

variable "lemgo_db_address" {
  type    = string
  default = "127.0.0.1:2225"
}

variable "paderborn_files_address" {
  type    = string
  default = "127.0.0.1:2226"
}

variable "lemgo_files_address" {
  type    = string
  default = "127.0.0.1:2227"
}

variable "lemgo_dns_address" {
  type    = string
  default = "127.0.0.1:2228"
}

host "db_pb" {
  datacenter    = datacenter.paderborn
  address       = var.paderborn_db_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

host "db_lg" {
  datacenter    = datacenter.lemgo
  address       = var.lemgo_db_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

host "files_pb" {
  datacenter    = datacenter.paderborn
  address       = var.paderborn_files_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

host "files_lg" {
  datacenter    = datacenter.lemgo
  address       = var.lemgo_files_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

# The name server at Lemgo: it only runs the switch, so it has no copy set.
host "dns_lg" {
  datacenter    = datacenter.lemgo
  address       = var.lemgo_dns_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}
